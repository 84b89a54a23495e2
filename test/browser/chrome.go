package browser

import (
	"context"
	"fmt"

	"github.com/chromedp/chromedp"
)

// Viewport is the browser window's size in CSS pixels.
type Viewport struct{ Width, Height int }

// StartChromium starts a headless Chromium at execPath with a fresh profile
// in userDataDir and returns a chromedp context for its first tab. Cancel
// stops the browser. The context must not carry a deadline: it bounds the
// browser's whole life (see chromedp.Run).
func StartChromium(parent context.Context, execPath, userDataDir string, vp Viewport) (context.Context, context.CancelFunc, error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(userDataDir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// /dev/shm is small in containers; and screenshots should not depend
		// on the host's colour profile or show scrollbars.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(vp.Width, vp.Height),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(parent, opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	cancel := func() { cancelTab(); cancelAlloc() }
	// The first Run starts the browser; an error here is a browser that
	// could not start.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		return nil, nil, fmt.Errorf("starting chromium %s: %w", execPath, err)
	}
	return ctx, cancel, nil
}

// Command screenshots refreshes the pictures in docs/img from the real
// pages: it starts a local cluster (three replicas behind nginx round robin,
// real Redis), walks the browser tests' journey in Chromium and captures
// the editor after a few edits (editor.png, crop.png mid-drag, adjust.png
// with a live preview, phone.png at 390 px), then runs the strategy matrix,
// writes the probe's HTML comparison report and captures it
// (comparison.png). `make screenshots` runs it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/probe"
	"github.com/easelhq/easel/test/browser"
	clustertest "github.com/easelhq/easel/test/cluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "screenshots:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	out        string // folder for the PNGs
	report     string // an existing HTML report to capture instead of running the matrix
	users      int
	iterations int
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	var o options
	fs := flag.NewFlagSet("screenshots", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.out, "out", "docs/img", "write editor.png and comparison.png to `DIR`")
	fs.StringVar(&o.report, "report", "", "capture this HTML report `FILE` instead of running the strategy matrix")
	fs.IntVar(&o.users, "users", 20, "probe users per scenario of the matrix")
	fs.IntVar(&o.iterations, "iterations", 3, "flows per probe user")
	if err := fs.Parse(args); err != nil {
		return err
	}
	chromium, err := cluster.LookPath("chromium")
	if err != nil {
		return fmt.Errorf("finding chromium (apt-get install chromium): %w", err)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", o.out, err)
	}
	dir, err := os.MkdirTemp("", "easel-screenshots-")
	if err != nil {
		return fmt.Errorf("creating a work dir: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(dir); err != nil {
			fmt.Fprintln(stderr, "screenshots: removing the work dir:", err)
		}
	}()
	fmt.Fprintln(stderr, "screenshots: building easel …")
	bin, err := cluster.BuildEasel(ctx, dir)
	if err != nil {
		return err
	}
	bctx, stopBrowser, err := browser.StartChromium(ctx, chromium, filepath.Join(dir, "chromium"), browser.Viewport{Width: 1280, Height: 960})
	if err != nil {
		return err
	}
	defer stopBrowser()

	if err := editor(ctx, bctx, bin, dir, o.out, stderr); err != nil {
		return err
	}
	report := o.report
	if report == "" {
		report = filepath.Join(dir, "report.html")
		if err := writeReport(ctx, bin, dir, report, o, stderr); err != nil {
			return err
		}
	}
	return comparison(bctx, report, filepath.Join(o.out, "comparison.png"), stderr)
}

// editor walks the journey on a fresh cluster and captures the editor
// after the crop, the rotate and its undo.
func editor(ctx, bctx context.Context, bin, dir, out string, stderr io.Writer) error {
	fmt.Fprintln(stderr, "screenshots: the editor journey …")
	c, err := cluster.Start(ctx, cluster.Options{
		Binary: bin, Dir: filepath.Join(dir, "editor"), Replicas: 3, Store: cluster.StoreRedis, Balance: cluster.RoundRobin,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := c.Stop(); err != nil {
			fmt.Fprintln(stderr, "screenshots: stopping the cluster:", err)
		}
	}()
	photo, err := browser.Photo(1200, 800)
	if err != nil {
		return err
	}
	photoPath := filepath.Join(dir, "lake.jpg")
	if err := os.WriteFile(photoPath, photo, 0o644); err != nil {
		return fmt.Errorf("writing the photo: %w", err)
	}
	p := browser.NewPage(bctx, c.URL())
	// The journey is the no-JavaScript one (every edit a form post); the
	// pictures are of the page as most users see it, with its script.
	if err := p.SetJavaScript(false); err != nil {
		return err
	}
	j := &browser.Journey{Page: p, PhotoPath: photoPath, Photo: photo, Background: "#2f9e44"}
	if _, err := j.Run(); err != nil {
		return fmt.Errorf("the journey: %w", err)
	}
	if err := p.SetJavaScript(true); err != nil {
		return err
	}
	return editorPictures(bctx, p, out, stderr)
}

// editorPictures captures the editor with its script: the whole tool
// column (editor.png), the crop box in the middle of a drag (crop.png), the
// adjustments with a live preview (adjust.png) and a phone (phone.png).
func editorPictures(bctx context.Context, p *browser.Page, out string, stderr io.Writer) error {
	shot := func(name string) error {
		png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
		if err != nil {
			return fmt.Errorf("capturing %s: %w", name, err)
		}
		return writePNG(filepath.Join(out, name), png, stderr)
	}
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		return fmt.Errorf("sizing the editor's viewport: %w", err)
	}
	if err := p.Open("/image"); err != nil {
		return err
	}
	// Back to the photo itself (the journey's composite replaced its sky),
	// then a crop drawn with the mouse and applied with Enter.
	if _, err := browser.Eval[bool](p, `(document.getElementById('reset').click(), true)`); err != nil {
		return err
	}
	if _, err := p.WaitCursor(0); err != nil {
		return err
	}
	img, err := p.RectOf("#image")
	if err != nil {
		return err
	}
	if err := p.MouseDrag(browser.Point{X: img.Left + img.Width*0.04, Y: img.Top + img.Height*0.08},
		browser.Point{X: img.Left + img.Width*0.96, Y: img.Top + img.Height*0.97}, nil); err != nil {
		return err
	}
	if err := p.Key("\r"); err != nil {
		return err
	}
	if _, err := p.WaitCursor(1); err != nil {
		return err
	}
	if err := shot("editor.png"); err != nil {
		return err
	}
	img, err = p.RectOf("#image")
	if err != nil {
		return err
	}
	from := browser.Point{X: img.Left + img.Width*0.18, Y: img.Top + img.Height*0.22}
	to := browser.Point{X: img.Left + img.Width*0.74, Y: img.Top + img.Height*0.83}
	if err := p.MouseDrag(from, to, func() error { return shot("crop.png") }); err != nil {
		return fmt.Errorf("dragging the crop box: %w", err)
	}
	if _, err := browser.Eval[bool](p, `(() => { document.getElementById('crop-cancel').click();
		document.getElementById('tab-group-adjust').click();
		const r = document.getElementById('saturation-v'); r.focus(); r.value = '0.5';
		r.dispatchEvent(new Event('input', {bubbles: true})); return true; })()`); err != nil {
		return fmt.Errorf("moving the saturation slider: %w", err)
	}
	if err := shot("adjust.png"); err != nil {
		return err
	}
	if err := p.EmulatePhone(390, 844); err != nil {
		return err
	}
	if err := p.Open("/image"); err != nil {
		return err
	}
	if _, err := p.Editor(); err != nil {
		return err
	}
	if err := shot("phone.png"); err != nil {
		return err
	}
	return p.EmulatePhone(0, 0)
}

// writeReport runs the strategy matrix and writes the probe's HTML report.
func writeReport(ctx context.Context, bin, dir, path string, o options, stderr io.Writer) error {
	var outcomes []clustertest.Outcome
	var errs []error
	for i, s := range clustertest.Matrix(2, true) {
		s.Users, s.Iterations = o.users, o.iterations
		fmt.Fprintf(stderr, "screenshots: %s …\n", s.Name)
		res, err := clustertest.Run(ctx, bin, filepath.Join(dir, fmt.Sprint("matrix-", i)), s, nil)
		if err != nil {
			errs = append(errs, err)
		}
		outcomes = append(outcomes, clustertest.Outcome{Scenario: s, Result: res, Err: err})
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("the strategy matrix: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("creating the report: %w", err)
	}
	if err := probe.WriteHTML(f, clustertest.NamedResults(outcomes)); err != nil {
		_ = f.Close() // the write error is the one to report
		return err
	}
	return f.Close()
}

// comparison captures the top of the HTML report: the comparison table
// and the first scenario's charts.
func comparison(bctx context.Context, report, path string, stderr io.Writer) error {
	abs, err := filepath.Abs(report)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", report, err)
	}
	ctx, cancel := context.WithTimeout(bctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 1340), chromedp.Navigate("file://"+abs)); err != nil {
		return fmt.Errorf("opening the report: %w", err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("capturing the report: %w", err)
	}
	return writePNG(path, png, stderr)
}

func writePNG(path string, png []byte, stderr io.Writer) error {
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	fmt.Fprintf(stderr, "screenshots: wrote %s (%d KiB)\n", path, len(png)>>10)
	return nil
}

package browser

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/testutil"
)

// easelBinary is built once by TestMain for every test of the package.
var easelBinary string

func TestMain(m *testing.M) { os.Exit(testutil.MainWithEasel(m, &easelBinary)) }

// env is one test's cluster, browser tab and fixture photo.
type env struct {
	cluster   *cluster.Cluster
	page      *Page
	photoPath string
	photo     []byte
}

// setup starts a three-replica cluster with store behind nginx round
// robin, a Chromium with a fresh profile, and writes the fixture photo.
// When the test fails, the page's screenshot and HTML are saved under
// test/artifacts.
func setup(t *testing.T, store string) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping the browser against a local cluster in -short mode")
	}
	chromium := testutil.Require(t, "chromium")
	testutil.Require(t, "nginx")
	if store == cluster.StoreRedis {
		testutil.Require(t, "redis-server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := cluster.Start(ctx, cluster.Options{
		Binary: easelBinary, Dir: t.TempDir(), Replicas: 3, Store: store, Balance: cluster.RoundRobin,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("starting the cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Logf("stopping the cluster: %v", err)
		}
	})

	bctx, stop, err := StartChromium(context.Background(), chromium, t.TempDir(), Viewport{Width: 1280, Height: 900})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	e := &env{cluster: c, page: NewPage(bctx, c.URL())}
	// Registered after the browser's cleanup, so it runs first, while the
	// page is still there.
	t.Cleanup(func() {
		if t.Failed() {
			saveArtifacts(t, e.page)
		}
	})

	e.photo, err = Photo(1200, 800)
	if err != nil {
		t.Fatal(err)
	}
	e.photoPath = filepath.Join(t.TempDir(), "lake.jpg")
	if err := os.WriteFile(e.photoPath, e.photo, 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

// saveArtifacts writes the page's screenshot and HTML to test/artifacts,
// named after the test, and logs their paths.
func saveArtifacts(t *testing.T, p *Page) {
	t.Helper()
	root, err := cluster.ModuleRoot()
	if err != nil {
		t.Logf("saving artifacts: %v", err)
		return
	}
	dir := filepath.Join(root, "test", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("saving artifacts: %v", err)
		return
	}
	base := filepath.Join(dir, regexp.MustCompile(`[^A-Za-z0-9_.-]+`).ReplaceAllString(t.Name(), "_"))
	if png, err := p.Screenshot(); err != nil {
		t.Logf("taking the failure screenshot: %v", err)
	} else if err := os.WriteFile(base+".png", png, 0o644); err != nil {
		t.Logf("saving the failure screenshot: %v", err)
	} else {
		t.Logf("screenshot of the page at failure: %s.png", base)
	}
	if html, err := p.HTML(); err != nil {
		t.Logf("reading the page's HTML: %v", err)
	} else if err := os.WriteFile(base+".html", []byte(html), 0o644); err != nil {
		t.Logf("saving the page's HTML: %v", err)
	} else {
		t.Logf("HTML of the page at failure: %s.html", base)
	}
	t.Logf("pages visited: %+v", p.Visits())
}

// TestJourneyRedisRoundRobin walks the whole journey with the shared
// session store and JavaScript off: every page works whichever replica
// serves it, and every tool works as a plain form.
func TestJourneyRedisRoundRobin(t *testing.T) {
	e := setup(t, cluster.StoreRedis)
	if err := e.page.SetJavaScript(false); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// The journey must be the no-JavaScript one: the editor's script marks
	// <html class="js"> when it runs.
	scripted := true
	j := &Journey{Page: e.page, PhotoPath: e.photoPath, Photo: e.photo, Background: "#2f9e44", AfterEdits: func() error {
		var err error
		scripted, err = Eval[bool](e.page, `document.documentElement.classList.contains('js') || !document.querySelector('script[src^="/assets/editor."]')`)
		return err
	}}
	res, err := j.Run()
	t.Logf("journey took %s; pages: %+v", time.Since(start).Round(time.Millisecond), res.Visits)
	if err != nil {
		t.Fatal(err)
	}

	servedBy := map[string]bool{}
	for _, v := range res.Visits {
		servedBy[v.ServedBy] = true
		if v.Session == "miss" {
			t.Errorf("%s was served by %s with session %q: a replica did not know the session", v.Path, v.ServedBy, v.Session)
		}
		if v.ServedBy == "" {
			t.Errorf("%s has no served-by footer", v.Path)
		}
	}
	if len(servedBy) < 2 {
		t.Errorf("every page came from %v; round robin over 3 replicas should show at least two", servedBy)
	}

	if scripted {
		t.Error("on the editor the script ran, or was not there to be switched off; this journey is the no-JavaScript one")
	}

	wantPages := []string{"/", "/image", "error"}
	if res.JobPage {
		wantPages = append(wantPages, "/jobs/{id}")
	} else {
		t.Log("the composite finished before the browser asked for its progress page, so /jobs/{id} was not shown")
	}
	for _, page := range wantPages {
		problems, ok := res.Accessibility[page]
		if !ok {
			t.Errorf("%s: accessibility not checked", page)
		}
		for _, p := range problems {
			t.Errorf("%s: %s", page, p)
		}
	}
}

// TestJourneyMemoryRoundRobin walks the same journey with per-replica
// memory sessions. The redirect after the upload reaches another replica,
// which does not know the session: the page must explain that plainly.
func TestJourneyMemoryRoundRobin(t *testing.T) {
	e := setup(t, cluster.StoreMemory)
	p := e.page
	// Round robin sends the editor's GET to the upload's replica about
	// one time in three; a user who tries a few times meets the problem.
	const attempts = 6
	for i := range attempts {
		if err := p.Open("/"); err != nil {
			t.Fatal(err)
		}
		if err := p.Upload(e.photoPath); err != nil {
			t.Fatal(err)
		}
		v := p.Current()
		if v.Status >= 500 {
			t.Fatalf("attempt %d: %s answered %d", i+1, v.Path, v.Status)
		}
		if err := CheckPlain(p); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		ed, err := p.Editor()
		if err != nil {
			t.Fatal(err)
		}
		if ed.NoImage == "" {
			t.Logf("attempt %d: %s %s served by %s (session %s) showed the image", i+1, v.Path, ed.Caption, v.ServedBy, v.Session)
			continue
		}
		t.Logf("attempt %d: %s served by %s, session %s:\n%s", i+1, v.Path, v.ServedBy, v.Session, ed.NoImage)
		if v.Path != "/image" || v.Session != "miss" {
			t.Errorf("the explanation is on %s with session %q, want /image and miss", v.Path, v.Session)
		}
		for _, want := range []string{"does not know your session", v.ServedBy, "EASEL_SESSION_STORE=redis", "Upload a photo"} {
			if !strings.Contains(ed.NoImage, want) {
				t.Errorf("the explanation does not mention %q", want)
			}
		}
		problems, err := p.Accessibility()
		if err != nil {
			t.Fatal(err)
		}
		for _, pr := range problems {
			t.Errorf("/image (no session): %s", pr)
		}
		return
	}
	t.Fatalf("in %d uploads with memory sessions behind round robin, the editor never missed the session: %+v", attempts, p.Visits())
}

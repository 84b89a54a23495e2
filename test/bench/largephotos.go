package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/internal/photo"
)

// LargeRun is what one large-photo measurement found: the time of an
// upload and of the first preview render, and the peak resident memory
// (VmHWM) of the process that did the work.
type LargeRun struct {
	UploadMs, PreviewMs float64
	PeakRSS             float64 // bytes
	IdleRSS             float64 // bytes; easel only: VmHWM once ready, before the upload
}

// TotalMs is the upload plus the first preview.
func (r LargeRun) TotalMs() float64 { return r.UploadMs + r.PreviewMs }

// LargePhoto returns the path of a photo-like w×h JPEG at quality 90
// (internal/photo: a 48 MP one is 10–15 MiB, like a phone's), made on the
// first call and cached in dir. Nothing this size belongs in the
// repository.
func LargePhoto(dir string, w, h int) (string, error) {
	path := filepath.Join(dir, fmt.Sprintf("photo-%dx%d-q90.jpg", w, h))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	data, err := photo.JPEG(w, h, uint64(w)<<32|uint64(h), 90)
	if err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, "photo-*.tmp")
	if err != nil {
		return "", err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("making a %d×%d photo: %w", w, h, err)
	}
	return path, nil
}

// EaselLargePhoto starts a fresh `easel serve` (one replica, memory
// sessions: nothing else in the process) and measures one upload of the
// photo through the API and the first preview render, then reads the
// process's peak resident memory. A fresh process per run keeps the
// high-water mark to this one photo.
func EaselLargePhoto(ctx context.Context, bin, dir, photo string) (LargeRun, error) {
	var run LargeRun
	data, err := os.ReadFile(photo)
	if err != nil {
		return run, err
	}
	port, err := cluster.FreePort()
	if err != nil {
		return run, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return run, err
	}
	logf, err := os.Create(filepath.Join(dir, "easel-"+strconv.Itoa(port)+".log"))
	if err != nil {
		return run, err
	}
	defer func() { _ = logf.Close() }()
	cmd := exec.Command(bin, "serve")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EASEL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "EASEL_ADDR="+addr, "EASEL_POD_NAME=large-photos", "EASEL_DRAIN_DELAY=0s")
	cmd.Stdout, cmd.Stderr = logf, logf
	proc, err := cluster.StartProcess(cmd)
	if err != nil {
		return run, err
	}
	defer func() { _ = proc.Stop(syscall.SIGTERM, 5*time.Second) }()
	base := "http://" + addr
	hc, err := jarClient()
	if err != nil {
		return run, err
	}
	var ws struct {
		CSRF string `json:"csrf_token"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if err = get(ctx, hc, base+"/api/v1/workspace", &ws); err == nil {
			break
		}
		if time.Now().After(deadline) || proc.Exited() {
			return run, fmt.Errorf("easel did not come up: %w\n%s", err, cluster.TailFile(logf.Name(), 2000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	pid := cmd.Process.Pid
	if run.IdleRSS, err = peakRSS(pid); err != nil {
		return run, err
	}
	if run.UploadMs, err = timed(func() error { return postImage(ctx, hc, base+"/api/v1/image", ws.CSRF, data) }); err != nil {
		return run, err
	}
	if run.PreviewMs, err = timed(func() error {
		return get(ctx, hc, base+"/api/v1/workspace/render?size=preview&format=jpeg", nil)
	}); err != nil {
		return run, err
	}
	run.PeakRSS, err = peakRSS(pid)
	return run, err
}

// peakRSS reads VmHWM (the peak resident set) of a live process, in bytes.
func peakRSS(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/" + strconv.Itoa(pid) + "/status")
}

// VipsThumbnail runs `vips thumbnail photo out.jpg 1600` (libvips'
// shrink-on-load preview, the yardstick) under GNU time and returns its
// wall time and peak resident memory (time's %M). The child's own rusage
// would not do: Go starts children sharing its address space until they
// exec, and Linux then reports the larger of the two high-water marks, so
// a large benchmark process would be counted as vips' peak. vips is the
// Debian package libvips-tools, time the package time.
func VipsThumbnail(ctx context.Context, vips, dir, photo string, edge int) (LargeRun, error) {
	out := filepath.Join(dir, "vips-thumbnail.jpg")
	rss := filepath.Join(dir, "vips-maxrss")
	cmd := exec.CommandContext(ctx, "/usr/bin/time", "-f", "%M", "-o", rss, vips, "thumbnail", photo, out, strconv.Itoa(edge))
	var msg strings.Builder
	cmd.Stdout, cmd.Stderr = &msg, &msg
	ms, err := timed(cmd.Run)
	if err != nil {
		return LargeRun{}, fmt.Errorf("vips thumbnail (under /usr/bin/time): %w: %s", err, msg.String())
	}
	b, err := os.ReadFile(rss)
	if err != nil {
		return LargeRun{}, err
	}
	kib, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil {
		return LargeRun{}, fmt.Errorf("vips thumbnail: reading its peak memory %q: %w", b, err)
	}
	return LargeRun{PreviewMs: ms, PeakRSS: kib * 1024}, nil
}

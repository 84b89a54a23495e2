package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/redis/go-redis/v9"
)

// Traffic is what Redis moved for steady-state page views (GET /image after
// the first one, which renders the preview).
type Traffic struct {
	// Upload is the size of the uploaded file in bytes.
	Upload int
	// FirstIn and FirstOut are the bytes Redis received and sent for the
	// first view of each replica (the render, or fetching a render another
	// replica cached), summed.
	FirstIn, FirstOut float64
	// In and Out are per-view medians over Views steady-state views, in
	// bytes, Redis' view: In is what clients sent, Out what Redis answered.
	In, Out float64
	Views   int
	// Commands is the number of Redis commands per steady-state view, by
	// command name.
	Commands map[string]float64
}

// Total is In + Out.
func (t Traffic) Total() float64 { return t.In + t.Out }

// UploadJPEG returns a photo-like JPEG of at least size bytes: gradients
// with sensor noise, which JPEG cannot compress much.
func UploadJPEG(size int) ([]byte, error) {
	w, h := 2400, 1800
	for range 4 {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		rng := rand.New(rand.NewPCG(7, 8))
		for y := range h {
			for x := range w {
				n := rng.NormFloat64() * 40
				img.SetNRGBA(x, y, color.NRGBA{clamp(float64(x*255/w) + n), clamp(float64(y*255/h) + n), clamp(128 + n), 255})
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			return nil, fmt.Errorf("encoding upload: %w", err)
		}
		if buf.Len() >= size {
			return buf.Bytes(), nil
		}
		f := math.Sqrt(float64(size)/float64(buf.Len())) * 1.03
		w, h = int(float64(w)*f), int(float64(h)*f)
	}
	return nil, fmt.Errorf("could not make a %d-byte upload", size)
}

func clamp(v float64) uint8 { return uint8(max(0, min(255, v))) }

// EaselTraffic starts a local cluster (Redis, replicas easel processes
// behind nginx round robin), uploads data through the API and measures the
// Redis traffic of views steady-state GET /image requests.
func EaselTraffic(ctx context.Context, bin, dir string, replicas, views int, data []byte) (Traffic, error) {
	c, err := cluster.Start(ctx, cluster.Options{
		Binary: bin, Dir: filepath.Join(dir, "traffic-easel"), Replicas: replicas,
		Store: cluster.StoreRedis, Balance: cluster.RoundRobin,
	})
	if err != nil {
		return Traffic{}, err
	}
	defer func() { _ = c.Stop() }() // teardown: the figures are taken by then
	return uploadAndMeasure(ctx, c.URL(), c.Redis().Addr, replicas, views, data)
}

// uploadAndMeasure uploads data to the service at base through the API,
// then measures the Redis traffic (at redisAddr) of the editor page: first
// views (one per replica) together, then views steady-state ones.
func uploadAndMeasure(ctx context.Context, base, redisAddr string, first, views int, data []byte) (Traffic, error) {
	rdb := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer func() { _ = rdb.Close() }()
	hc, err := jarClient()
	if err != nil {
		return Traffic{}, err
	}
	var ws struct {
		CSRF string `json:"csrf_token"`
	}
	if err := get(ctx, hc, base+"/api/v1/workspace", &ws); err != nil {
		return Traffic{}, err
	}
	if err := postImage(ctx, hc, base+"/api/v1/image", ws.CSRF, data); err != nil {
		return Traffic{}, err
	}
	return measureViews(ctx, hc, base+"/image", rdb, first, views, len(data))
}

// measureViews measures first views (one per replica) together, then views
// steady-state views one by one, each between two INFO stats calls whose
// own traffic is measured with no view between them and subtracted.
func measureViews(ctx context.Context, hc *http.Client, url string, rdb *redis.Client, first, views, upload int) (Traffic, error) {
	t := Traffic{Upload: upload, Views: views}
	var idleIn, idleOut []float64
	for range 10 {
		in, out, err := delta(ctx, rdb, func() error { return nil })
		if err != nil {
			return t, err
		}
		idleIn, idleOut = append(idleIn, in), append(idleOut, out)
	}
	baseIn, baseOut := Median(idleIn), Median(idleOut)
	view := func() error { return get(ctx, hc, url, nil) }
	in, out, err := delta(ctx, rdb, func() error {
		for range first {
			if err := view(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return t, err
	}
	t.FirstIn, t.FirstOut = in-baseIn, out-baseOut
	before, err := commandStats(ctx, rdb)
	if err != nil {
		return t, err
	}
	start := time.Now()
	var ins, outs []float64
	for range views {
		in, out, err := delta(ctx, rdb, view)
		if err != nil {
			return t, err
		}
		ins, outs = append(ins, max(0, in-baseIn)), append(outs, max(0, out-baseOut))
	}
	after, err := commandStats(ctx, rdb)
	if err != nil {
		return t, err
	}
	// What the service sends with no request at all (the composite job
	// runners polling their queue) is not part of a view: count it over an
	// idle stretch as long as the views took, and subtract it.
	idle := time.Since(start)
	idleBefore := after
	select {
	case <-ctx.Done():
		return t, ctx.Err()
	case <-time.After(idle):
	}
	idleAfter, err := commandStats(ctx, rdb)
	if err != nil {
		return t, err
	}
	t.In, t.Out = Median(ins), Median(outs)
	t.Commands = map[string]float64{}
	for cmd, n := range after {
		if cmd == "info" {
			continue
		}
		background := idleAfter[cmd] - idleBefore[cmd]
		if d := n - before[cmd] - background; d > 0.5 {
			t.Commands[cmd] = d / float64(views)
		}
	}
	return t, nil
}

// delta runs f between two INFO stats calls and returns the growth of
// total_net_input_bytes and total_net_output_bytes.
func delta(ctx context.Context, rdb *redis.Client, f func() error) (in, out float64, err error) {
	in0, out0, err := netBytes(ctx, rdb)
	if err != nil {
		return 0, 0, err
	}
	if err := f(); err != nil {
		return 0, 0, err
	}
	in1, out1, err := netBytes(ctx, rdb)
	if err != nil {
		return 0, 0, err
	}
	return in1 - in0, out1 - out0, nil
}

func netBytes(ctx context.Context, rdb *redis.Client) (in, out float64, err error) {
	info, err := rdb.Info(ctx, "stats").Result()
	if err != nil {
		return 0, 0, fmt.Errorf("redis info: %w", err)
	}
	f := infoFields(info)
	return f["total_net_input_bytes"], f["total_net_output_bytes"], nil
}

// commandStats returns INFO commandstats' call counts by command.
func commandStats(ctx context.Context, rdb *redis.Client) (map[string]float64, error) {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, fmt.Errorf("redis info: %w", err)
	}
	out := map[string]float64{}
	for _, l := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok || !strings.HasPrefix(k, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(v, ",") {
			if n, ok := strings.CutPrefix(kv, "calls="); ok {
				c, _ := strconv.ParseFloat(n, 64)
				out[strings.TrimPrefix(k, "cmdstat_")] = c
			}
		}
	}
	return out, nil
}

func infoFields(info string) map[string]float64 {
	out := map[string]float64{}
	for _, l := range strings.Split(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				out[k] = f
			}
		}
	}
	return out
}

// CommandList renders per-view command counts as "GETEX 1, GET 2".
func CommandList(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = strings.ToUpper(k) + " " + Num(m[k], 2)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func jarClient() (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, fmt.Errorf("cookie jar: %w", err)
	}
	return &http.Client{Jar: jar, Timeout: 60 * time.Second}, nil
}

// get GETs url and decodes the JSON answer into v, or reads and discards
// the answer when v is nil.
func get(ctx context.Context, hc *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if v == nil {
		_, err = io.Copy(io.Discard, resp.Body)
	} else {
		err = json.NewDecoder(resp.Body).Decode(v)
	}
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}

func postImage(ctx context.Context, hc *http.Client, url, csrf string, data []byte) error {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("image", "photo.jpg")
	if err != nil {
		return err
	}
	if _, err := fw.Write(data); err != nil {
		return err
	}
	if err := mw.Close(); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, &body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-CSRF-Token", csrf)
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("POST %s: %w", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	if resp.StatusCode >= 300 && resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, msg)
	}
	return nil
}

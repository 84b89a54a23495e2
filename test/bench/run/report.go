package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/easelhq/easel/internal/cluster"
	"github.com/easelhq/easel/test/bench"
)

// section is one part of BENCHMARKS.md.
type section struct {
	title, body string
}

// report collects the sections and the ratios of one run.
type report struct {
	s        settings
	root     string
	bin      string
	command  string
	started  time.Time
	elapsed  time.Duration
	sections []section
	ratios   []string // "name: value (goal …: met)"

	// What the traffic step measured, for the end-to-end table.
	upload                         []byte
	easelTraffic, inSessionTraffic bench.Traffic
}

func (r *report) add(title string, parts ...string) {
	r.sections = append(r.sections, section{title, strings.Join(parts, "\n")})
}

func goal(met bool) string {
	if met {
		return "**met**"
	}
	return "**not met**"
}

func fence(s string) string { return "```\n" + strings.TrimRight(s, "\n") + "\n```\n" }

func cmdLine(c string) string { return "Command: `" + c + "`\n" }

// benchstat runs benchstat on a raw output file; a failure is reported in
// the text rather than failing the run.
func (r *report) benchstat(ctx context.Context, raw string, args ...string) string {
	out, err := bench.Tool(ctx, r.root, r.s.benchstat, append(args, raw)...)
	if err != nil {
		return "benchstat failed: " + err.Error()
	}
	return out
}

// profile returns a "where the time goes" block for an unmet goal.
func (r *report) profile(ctx context.Context, pkg, benchName, benchtime string) string {
	dir := filepath.Join(r.s.work, "profile-"+strings.NewReplacer("/", "_", "=", "-").Replace(benchName))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "profiling failed: " + err.Error()
	}
	top, cmd, err := bench.CPUProfile(ctx, r.root, dir, pkg, benchName, benchtime)
	if err != nil {
		return "profiling failed: " + err.Error()
	}
	return "Where the time goes (`" + cmd + "`):\n\n" + fence(top)
}

func (r *report) sessions(ctx context.Context) error {
	raw := filepath.Join(r.s.work, "session.txt")
	samples, cmd, err := bench.GoTest(ctx, r.root, raw, "-run", "^$", "-bench", "^BenchmarkStoreGetSave$",
		"-benchmem", "-benchtime", r.s.sessionTime, "-count", fmt.Sprint(r.s.sessionCount), "./internal/session/")
	if err != nil {
		return err
	}
	names, med := bench.Medians(samples)
	t := bench.Table{Header: []string{"store", "goroutines", "ops/s", "p99 µs", "B/op", "allocs/op"}}
	for _, n := range names {
		store, conc := subKey(n, "store"), subKey(n, "conc")
		m := med[n]
		t.Rows = append(t.Rows, []string{store, goroutines(conc), bench.Num(1e9/m["ns/op"], 0),
			bench.Num(m["p99-µs"], 0), bench.Num(m["B/op"], 0), bench.Num(m["allocs/op"], 0)})
	}
	rt := bench.Table{Header: []string{"goroutines", "easel/stock ops/s", "easel/stock allocs", "easel/memory ops/s"}}
	met := true
	for _, conc := range []string{"seq", "par16", "par64"} {
		e, s, m := med[sessName("easel", conc)], med[sessName("stock", conc)], med[sessName("memory", conc)]
		if e == nil || s == nil || m == nil {
			return fmt.Errorf("missing session benchmark results for %s", conc)
		}
		thr, allocs := s["ns/op"]/e["ns/op"], e["allocs/op"]/s["allocs/op"]
		met = met && thr >= 1.3 && allocs <= 1
		rt.Rows = append(rt.Rows, []string{goroutines(conc), bench.Ratio(thr), bench.Ratio(allocs), bench.Ratio(m["ns/op"] / e["ns/op"])})
		r.ratios = append(r.ratios, fmt.Sprintf("session store %s: easel/stock throughput %.2f×, allocs %.2f×", conc, thr, allocs))
	}
	r.ratios = append(r.ratios, "session store goal (≥1.3× stock throughput, no more allocations): "+strings.Trim(goal(met), "*"))
	parts := []string{
		"Get+Save of a realistic session (workspace ID, CSRF token, two flashes taken and two queued) through the " +
			"gorilla/gin-contrib `Store` API against one local redis-server: easel's Redis store (go-redis, GETEX + SET XX), " +
			"gin-contrib/sessions v1.0.4's stock Redis store (redistore on redigo: PING on borrow, GET, SETEX, gob, cookie re-signed on every save; " +
			"pool of 10 × GOMAXPROCS idle connections, go-redis' default pool size) and easel's memory store. " +
			"1 is sequential; 16 and 64 are concurrent goroutines, each with its own session. " +
			"ops/s is 1 s ÷ ns/op; p99 is the 99th percentile of single Get+Save latencies. Medians of " + fmt.Sprint(r.s.sessionCount) + " runs.\n",
		cmdLine(cmd), t.String(),
		fmt.Sprintf("Goal: easel ≥ 1.3× the stock store's throughput at every concurrency with no more allocations per op: %s.\n", goal(met)),
		cmdLine(cmd), rt.String(),
		"benchstat (`benchstat -col /store`), first column is the baseline:\n", fence(r.benchstat(ctx, raw, "-col", "/store")),
	}
	if !met {
		parts = append(parts, r.profile(ctx, "./internal/session/", "StoreGetSave/store=easel/conc=par16", "2s"))
	}
	r.add("1. Session store: easel vs gin-contrib/sessions' stock Redis store vs memory", parts...)
	return nil
}

// goroutines turns conc=seq|parN into a goroutine count.
func goroutines(conc string) string {
	if conc == "seq" {
		return "1"
	}
	return strings.TrimPrefix(conc, "par")
}

func sessName(store, conc string) string {
	return "BenchmarkStoreGetSave/store=" + store + "/conc=" + conc
}

// subKey returns the value of key=value in a benchmark name.
func subKey(name, key string) string {
	for _, p := range strings.Split(name, "/") {
		if v, ok := strings.CutPrefix(p, key+"="); ok {
			return v
		}
	}
	return ""
}

func (r *report) traffic(ctx context.Context) error {
	data, err := bench.UploadJPEG(5 << 20)
	if err != nil {
		return err
	}
	r.upload = data
	easel, err := bench.EaselTraffic(ctx, r.bin, r.s.work, r.s.replica, r.s.views, data)
	if err != nil {
		return err
	}
	inSession, err := bench.InSessionTraffic(ctx, r.s.work, r.s.views, data)
	if err != nil {
		return err
	}
	t := bench.Table{Header: []string{"variant", "upload bytes", "first views in+out bytes", "per view in bytes", "per view out bytes", "per view total bytes"}}
	for _, row := range []struct {
		name string
		t    bench.Traffic
	}{{fmt.Sprintf("easel (%d replicas, round robin)", r.s.replica), easel}, {"image bytes in the session (stock gin-contrib store)", inSession}} {
		t.Rows = append(t.Rows, []string{row.name, fmt.Sprint(row.t.Upload), bench.Num(row.t.FirstIn+row.t.FirstOut, 0),
			bench.Num(row.t.In, 0), bench.Num(row.t.Out, 0), bench.Num(row.t.Total(), 0)})
	}
	r.easelTraffic, r.inSessionTraffic = easel, inSession
	met := easel.Total() <= 2048
	ratio := inSession.Total() / max(easel.Total(), 1)
	commands := 0.0
	for _, n := range easel.Commands {
		commands += n
	}
	r.ratios = append(r.ratios,
		fmt.Sprintf("bytes per page view: easel %.0f B, image-in-session %.0f B (%.0f× more)", easel.Total(), inSession.Total(), ratio),
		"bytes per page view goal (easel ≤ 2 KB): "+strings.Trim(goal(met), "*"))
	r.add("2. Redis bytes moved per page view (5 MB upload)",
		fmt.Sprintf("A %d-byte JPEG is uploaded once, then `GET /image` is requested with the session cookie. "+
			"The first view of each replica renders the preview (or fetches the render another replica cached); "+
			"those first views are shown summed and are **not** in the per-view figures. The per-view figures are medians "+
			"over %d steady-state views after them, each measured as the growth of Redis' `INFO stats` "+
			"`total_net_input_bytes` (in: what clients sent) and `total_net_output_bytes` (out: what Redis answered), "+
			"minus the median cost of the two `INFO` calls themselves. The preview image itself is served by "+
			"`/blobs/<digest>` with `Cache-Control: immutable`, so a browser fetches it once and it is not part of a page view. "+
			"The in-session variant is the Spring Boot original's design reduced to a gin app on the stock gin-contrib Redis store; "+
			"it only reads the session on a view (it saves only when the session changes), so its figure is a lower bound. "+
			"Redis commands per view are counted with `INFO commandstats` over the steady-state views, minus what the service "+
			"sent over an idle stretch as long (the composite job runners polling their queue), minus the `INFO` calls.\n", easel.Upload, easel.Views),
		cmdLine(r.command), t.String(),
		"Redis commands per steady-state view: easel: "+bench.CommandList(easel.Commands)+"; image in the session: "+bench.CommandList(inSession.Commands)+".\n",
		fmt.Sprintf("Goal: easel ≤ 2 KB (2048 bytes) per page view: %s (%.0f bytes; the in-session variant moves %.0f× as much).\n", goal(met), easel.Total(), ratio),
		fmt.Sprintf("Goal (issue 15): no Redis command for a steady-state page view: %s (%s per view). "+
			"A replica serves the session and the workspace from its own memory when the signed cookie names the very "+
			"version it holds; any other version is read from Redis.\n", goal(commands == 0), bench.Num(commands, 2)),
	)
	r.ratios = append(r.ratios, fmt.Sprintf("Redis commands per steady-state page view: %s (goal 0: %s)", bench.Num(commands, 2), strings.Trim(goal(commands == 0), "*")))
	return nil
}

func (r *report) e2e(ctx context.Context) error {
	runs := make([][]bench.E2E, len(bench.Strategies))
	for round := range r.s.rounds {
		for i, st := range bench.Strategies {
			res, err := bench.RunE2E(ctx, r.bin, filepath.Join(r.s.work, fmt.Sprintf("e2e-%d-%d", round, i)), st,
				r.s.replica, r.s.users, r.s.edits, r.s.e2eDuration)
			if err != nil {
				return err
			}
			runs[i] = append(runs[i], res)
		}
	}
	t := bench.Table{Header: []string{"strategy", "run", "page views/s", "edits/s", "page p50 ms", "page p99 ms", "edit p50 ms", "edit p99 ms", "flows", "consistency %", "failed requests"}}
	med := make([]map[string]float64, len(runs))
	for i, rs := range runs {
		cols := map[string][]float64{}
		for k, e := range rs {
			t.Rows = append(t.Rows, []string{bench.Strategies[i].Name, fmt.Sprint(k + 1), bench.Num(e.PagesPerSec(), 1), bench.Num(e.EditsPerSec(), 1),
				bench.Num(e.PageP50, 1), bench.Num(e.PageP99, 1), bench.Num(e.EditP50, 1), bench.Num(e.EditP99, 1),
				fmt.Sprint(e.Flows), bench.Num(e.Consistency, 1), fmt.Sprint(e.Failed)})
			for k, v := range map[string]float64{"pages": e.PagesPerSec(), "edits": e.EditsPerSec(), "pp50": e.PageP50, "pp99": e.PageP99,
				"ep50": e.EditP50, "ep99": e.EditP99, "flows": float64(e.Flows), "cons": e.Consistency, "failed": float64(e.Failed)} {
				cols[k] = append(cols[k], v)
			}
			total := 0.0
			for _, p := range cpuColumns {
				cols["cpu:"+p] = append(cols["cpu:"+p], e.CPU[p])
				total += e.CPU[p]
			}
			cols["cpu:total"] = append(cols["cpu:total"], total)
			trips := 0.0
			for k, v := range e.RoundTrips {
				cols["rt:"+k] = append(cols["rt:"+k], v)
				trips += v
			}
			cols["rt:total"] = append(cols["rt:total"], trips)
		}
		med[i] = map[string]float64{}
		for k, v := range cols {
			med[i][k] = bench.Median(v)
		}
	}
	orig, err := bench.InSessionViews(ctx, r.s.work, r.s.users, r.s.e2eDuration, r.upload)
	if err != nil {
		return err
	}
	mt := bench.Table{Header: []string{"strategy", "page views/s", "edits/s", "page p50 ms", "page p99 ms", "edit p50 ms", "edit p99 ms", "consistency %", "Redis bytes per view"}}
	mt.Rows = append(mt.Rows, []string{"the original: image bytes in the session, 1 process", bench.Num(orig.PagesPerSec(), 1), bench.NA,
		bench.Num(orig.PageP50, 1), bench.Num(orig.PageP99, 1), bench.NA, bench.NA, bench.NA, bench.Num(r.inSessionTraffic.Total(), 0)})
	perView := []float64{0, r.easelTraffic.Total()}
	for i, m := range med {
		mt.Rows = append(mt.Rows, []string{bench.Strategies[i].Name, bench.Num(m["pages"], 1), bench.Num(m["edits"], 1),
			bench.Num(m["pp50"], 1), bench.Num(m["pp99"], 1), bench.Num(m["ep50"], 1), bench.Num(m["ep99"], 1), bench.Num(m["cons"], 1),
			bench.Num(perView[i], 0)})
	}
	ct := bench.Table{Header: append(append([]string{"strategy"}, cpuColumns...), "total", "total ÷ memory + ip_hash")}
	for i, m := range med {
		row := []string{bench.Strategies[i].Name}
		for _, p := range cpuColumns {
			row = append(row, bench.Num(m["cpu:"+p], 2))
		}
		ct.Rows = append(ct.Rows, append(row, bench.Num(m["cpu:total"], 2), bench.Ratio(m["cpu:total"]/med[0]["cpu:total"])))
	}
	rtt := bench.Table{Header: []string{"command", "round trips per flow"}}
	var commands []string
	for k := range med[1] {
		if c, ok := strings.CutPrefix(k, "rt:"); ok && c != "total" {
			commands = append(commands, c)
		}
	}
	sort.Slice(commands, func(i, j int) bool { return med[1]["rt:"+commands[i]] > med[1]["rt:"+commands[j]] })
	for _, c := range commands {
		rtt.Rows = append(rtt.Rows, []string{"`" + c + "`", bench.Num(med[1]["rt:"+c], 2)})
	}
	rtt.Rows = append(rtt.Rows, []string{"total", bench.Num(med[1]["rt:total"], 2)})
	pr, er := med[1]["pages"]/med[0]["pages"], med[1]["edits"]/med[0]["edits"]
	cr := med[1]["cpu:total"] / med[0]["cpu:total"]
	met := pr >= 0.95 && er >= 0.90
	rt := bench.Table{Header: []string{"ratio", "page views/s", "edits/s", "CPU per flow"}, Rows: [][]string{{"redis + round robin ÷ memory + ip_hash", bench.Ratio(pr), bench.Ratio(er), bench.Ratio(cr)}}}
	r.ratios = append(r.ratios,
		fmt.Sprintf("end to end: redis+round robin ÷ memory+ip_hash: page views %.2f×, edits %.2f×, CPU per flow %.2f×", pr, er, cr),
		"end-to-end goal (≥ 0.95× page views, ≥ 0.90× edits): "+strings.Trim(goal(met), "*"))
	parts := []string{
		fmt.Sprintf("The local cluster: %d `easel serve` processes behind a real nginx, with a real redis-server for the Redis store. "+
			"The probe (`internal/probe`, web flow) runs %d users for %s per run, each flow: form, upload (64×48), `GET /image`, %d edits "+
			"through the API, verify. Every user binds its own 127.x.y.z source address in a distinct /24, so ip_hash spreads them as "+
			"distinct clients (its best case). Runs alternate between the strategies, %d each; the summary is the median. "+
			"Throughput counts completed steps over the run; latency is what the user waited, retries included. "+
			"The probe, nginx, Redis and all replicas share this machine's %d cores, so these are whole-system figures. "+
			"The first row is the design easel replaces (the image's bytes in the session, on gin-contrib's stock Redis store, "+
			"one process, the %d-byte photo of section 2): it has no edit list and no probe flow, so its %d users only view the "+
			"page, for %s, once; its Redis bytes per view are section 2's, as are easel's (memory + ip_hash uses no Redis).\n",
			r.s.replica, r.s.users, r.s.e2eDuration, r.s.edits, r.s.rounds, bench.ThisMachine().Cores, len(r.upload), r.s.users, r.s.e2eDuration),
		cmdLine(r.command), mt.String(),
		cmdLine(r.command), rt.String(),
		fmt.Sprintf("Goal (issue 15): Redis + round robin ≥ 0.95× the page views and ≥ 0.90× the edits of memory + ip_hash: %s.\n", goal(met)),
		"CPU time per completed flow, in milliseconds, by process (medians; /proc utime + stime over the run; " +
			"the probe runs in the benchmark's own process). The machine's cores are shared by all of them and the run is CPU-bound, " +
			"so throughput follows the inverse of the total: ratios of 0.95× and 0.90× need a total within 1.05× and 1.11× of memory + ip_hash.\n",
		cmdLine(r.command), ct.String(),
		"Round trips to Redis per completed flow with Redis + round robin, by command, as the replicas count them in " +
			"`easel_redis_round_trips_total` (medians over the runs; a pipeline counts once; commands scripts run inside Redis are " +
			"not round trips; `hello` is a new connection's handshake). Memory + ip_hash makes none: this is the gap. Every action " +
			"runs one script (`evalsha`), which also checks that the session is still the replica's copy of it, so that an expired or " +
			"revoked session is never acted on; the read after an action reads the workspace once (`evalsha`, checking the session the " +
			"same way), because a response to an action cannot vouch for the newest state, and each replica reads a state it has not " +
			"seen once (README, \"Shared state at the cost of local memory\"); the upload stores its image and runs its script in one " +
			"`pipeline`; a new state's render is looked up (`get`), made from the original (`get`, on a replica that does not hold it) " +
			"and stored with its cache entry in one `pipeline`.\n",
		cmdLine(r.command), rtt.String(),
	}
	if trips := med[1]["rt:total"]; trips > 0 {
		extra := med[1]["cpu:easel"] - med[0]["cpu:easel"] + med[1]["cpu:redis-server"]
		rest := med[1]["cpu:total"] - extra
		parts = append(parts, fmt.Sprintf("What a round trip costs, at most: easel's extra CPU per flow plus redis-server's, "+
			"%.2f ms, over %.1f round trips is **%.0f µs** of this machine's CPU per round trip (easel's extra CPU also pays for what round "+
			"robin spreads over the replicas: each one fetches and caches the states and renders a sticky replica made itself). "+
			"Without any round trip, the total would be at least %.2f ms per flow, %s memory + ip_hash's: nginx and the probe "+
			"also do more, for the version cookie.\n", extra, trips, 1000*extra/trips, rest, bench.Ratio(rest/med[0]["cpu:total"])))
	}
	parts = append(parts, "Every run:\n", cmdLine(r.command), t.String())
	r.add("3. End to end: the original vs memory + ip_hash vs Redis + round robin", parts...)
	return nil
}

// cpuColumns are the processes of the end-to-end CPU table, in order.
var cpuColumns = []string{"easel", "redis-server", "nginx", "probe"}

func (r *report) imaging(ctx context.Context) error {
	rawP := filepath.Join(r.s.work, "imaging-preview.txt")
	sp, cmdP, err := bench.GoTest(ctx, r.root, rawP, "-run", "^$", "-bench", "^BenchmarkOp$/^size=preview$",
		"-benchtime", r.s.previewTime, "-count", fmt.Sprint(r.s.previewCount), "./internal/imaging/")
	if err != nil {
		return err
	}
	rawF := filepath.Join(r.s.work, "imaging-12mp.txt")
	sf, cmdF, err := bench.GoTest(ctx, r.root, rawF, "-run", "^$", "-bench", "^BenchmarkOp$/^size=12MP$|^BenchmarkExport$",
		"-benchtime", r.s.fullTime, "-count", fmt.Sprint(r.s.fullCount), "./internal/imaging/")
	if err != nil {
		return err
	}
	parts := []string{"Every operation on the same pixels through easel and through github.com/disintegration/imaging v1.6.2 " +
		"(the pure-Go baseline), in the same run. The image is a deterministic photo-like 4000×3000 (12 MP) image and its 1600 px preview. " +
		"Medians in milliseconds; ratio = imaging ÷ easel (above 1: easel is faster). imaging has no hue operation.\n"}
	for _, g := range []struct {
		size, cmd, raw string
		samples        []bench.Sample
		runs           int
		bt             string
	}{{"preview", cmdP, rawP, sp, r.s.previewCount, r.s.previewTime}, {"12MP", cmdF, rawF, sf, r.s.fullCount, r.s.fullTime}} {
		names, med := bench.Medians(g.samples)
		t := bench.Table{Header: []string{"op", "easel ms", "imaging ms", "imaging ÷ easel"}}
		var ratios []float64
		slowest := 0.0
		for _, n := range names {
			if subKey(n, "size") != g.size || subKey(n, "impl") != "easel" {
				continue
			}
			op := subKey(n, "op")
			e := med[n]["ns/op"] / 1e6
			slowest = max(slowest, e)
			row := []string{op, bench.Num(e, 2), bench.NA, bench.NA}
			if d, ok := med[strings.Replace(n, "impl=easel", "impl=imaging", 1)]; ok {
				row[2], row[3] = bench.Num(d["ns/op"]/1e6, 2), bench.Ratio(d["ns/op"]/1e6/e)
				ratios = append(ratios, d["ns/op"]/1e6/e)
			}
			t.Rows = append(t.Rows, row)
		}
		r.ratios = append(r.ratios, fmt.Sprintf("image operations %s: median imaging÷easel %.2f× over %d ops (slowest easel op %.1f ms)",
			g.size, bench.Median(ratios), len(ratios), slowest))
		parts = append(parts, fmt.Sprintf("### %s (%s iterations, %d runs)\n", g.size, g.bt, g.runs), cmdLine(g.cmd), t.String())
		if g.size == "preview" {
			parts = append(parts, fmt.Sprintf("Issue 3's bar, every operation on the preview under 25 ms median: %s (slowest %.1f ms).\n", goal(slowest < 25), slowest))
		}
		if ex, ok := med["BenchmarkExport"]; ok {
			et := bench.Table{Header: []string{"benchmark", "ms", "peak heap ÷ decoded image"}, Rows: [][]string{{"12 MP export: decode + 5 edits + JPEG encode", bench.Num(ex["ns/op"]/1e6, 0), bench.Num(ex["peak/decoded"], 2)}}}
			parts = append(parts, cmdLine(g.cmd), et.String(),
				fmt.Sprintf("Issue 3's bars: export under 1.5 s: %s; peak memory under 4× the decoded image: %s.\n", goal(ex["ns/op"] < 1.5e9), goal(ex["peak/decoded"] < 4)))
		}
		parts = append(parts, "<details><summary>benchstat (<code>benchstat -col /impl</code>)</summary>\n", fence(r.benchstat(ctx, g.raw, "-col", "/impl")), "</details>\n")
	}
	r.add("4. Image operations: easel vs disintegration/imaging", parts...)
	return nil
}

// blobs compares blobs in Redis with blobs in S3 on the same load, in the
// same run (rounds alternate the variants).
func (r *report) blobs(ctx context.Context) error {
	photo, err := bench.UploadJPEG(r.s.blobUpload)
	if err != nil {
		return err
	}
	s3bin := r.s.s3server
	if !filepath.IsAbs(s3bin) {
		s3bin = filepath.Join(r.root, s3bin)
	}
	runs, err := bench.BlobStores(ctx, r.bin, s3bin, r.s.work, r.s.replica, r.s.blobUsers, r.s.blobViews, r.s.blobRounds, photo)
	if err != nil {
		return err
	}
	med := map[string]map[string][]float64{}
	for _, run := range runs {
		if med[run.Store] == nil {
			med[run.Store] = map[string][]float64{}
		}
		m := med[run.Store]
		m["upload"] = append(m["upload"], run.UploadMs)
		m["first"] = append(m["first"], run.FirstRenderMs)
		m["view"] = append(m["view"], run.ViewMs)
		m["redis"] = append(m["redis"], run.RedisPerUser)
		m["bucket"] = append(m["bucket"], run.BucketPerUser)
	}
	t := bench.Table{Header: []string{"blobs in", "upload ms", "first render ms", "steady-state view ms", "Redis bytes per user", "bucket bytes per user"}}
	for _, store := range []string{"redis", "s3"} {
		m := med[store]
		t.Rows = append(t.Rows, []string{store, bench.Num(bench.Median(m["upload"]), 1), bench.Num(bench.Median(m["first"]), 1),
			bench.Num(bench.Median(m["view"]), 2), bench.Num(bench.Median(m["redis"]), 0), bench.Num(bench.Median(m["bucket"]), 0)})
	}
	redisView, s3View := bench.Median(med["redis"]["view"]), bench.Median(med["s3"]["view"])
	memRatio := bench.Median(med["redis"]["redis"]) / max(bench.Median(med["s3"]["redis"]), 1)
	met := s3View <= redisView*1.10+0.5 // within noise: 10 % and half a millisecond
	r.ratios = append(r.ratios,
		fmt.Sprintf("Redis memory per active user: blobs in Redis %.0f B, blobs in S3 %.0f B (%.0f× less)", bench.Median(med["redis"]["redis"]), bench.Median(med["s3"]["redis"]), memRatio),
		fmt.Sprintf("steady-state page view with blobs in S3: %.2f ms vs %.2f ms in Redis (goal: not slower, within 10 %% + 0.5 ms: %s)", s3View, redisView, strings.Trim(goal(met), "*")))
	r.add("5. Blobs in Redis vs in S3",
		fmt.Sprintf("%d users, one after another, each upload their own %d-byte JPEG through the API (`POST /api/v1/image`, answered once the blob is stored), "+
			"open the editor once (`GET /image`: the first render of the preview), let every replica render it once, then view it %d times (steady state). "+
			"The same load runs against %d easel replicas behind nginx round robin with Redis, once with blobs in Redis and once with "+
			"`--blob-store s3` (the S3 server is hack/tools/gofakes3 on loopback, a bbolt file: latency of a real S3 is higher, "+
			"which only the first render of a replica pays), %d rounds alternating; figures are medians over rounds. "+
			"Redis bytes per user is the growth of `INFO memory` `used_memory` over the run divided by the users; "+
			"with S3 it is the sessions, workspaces, render keys and one blob lease per blob.\n",
			r.s.blobUsers, len(photo), r.s.blobViews, r.s.replica, r.s.blobRounds),
		cmdLine(r.command), t.String(),
		fmt.Sprintf("Goal: steady-state page views not slower with blobs in S3 (they are served from the replica's blob cache; "+
			"\"not slower\" allows this machine's noise between two runs: 10 %% and half a millisecond): %s. "+
			"Redis memory per active user falls %.0f×.\n", goal(met), memRatio))
	return nil
}

func (r *report) markdown() string {
	m := bench.ThisMachine()
	var b strings.Builder
	b.WriteString("<!-- Code generated by `make bench` (test/bench/run). DO NOT EDIT. -->\n# Benchmarks\n\n")
	b.WriteString("Every figure below is generated; run `make bench` to regenerate this file.\n\n")
	fmt.Fprintf(&b, "Command: `%s` (via `make bench`)\n\n", r.command)
	fmt.Fprintf(&b, "- Machine: %s, %d cores (1-minute load average %s when the run started", m.CPU, m.Cores, m.Load)
	if m.Load != "unknown" {
		if l, err := strconv.ParseFloat(m.Load, 64); err == nil && l > 0.5 {
			b.WriteString(": the machine was shared with other work, so absolute figures are noisy; the side-by-side ratios, measured in the same run, are what to compare")
		}
	}
	fmt.Fprintf(&b, ")\n- Go: %s\n- Date: %s, the run took %s\n\n", m.Go, r.started.UTC().Format("2006-01-02 15:04 MST"), r.elapsed.Round(time.Second))
	b.WriteString("## Ratios\n\n")
	for _, x := range r.ratios {
		b.WriteString("- " + x + "\n")
	}
	for _, s := range r.sections {
		b.WriteString("\n## " + s.title + "\n\n" + s.body)
	}
	return b.String()
}

func (r *report) summary() string {
	return "ratios:\n  " + strings.Join(r.ratios, "\n  ") + "\n"
}

// largePhotos measures the upload and first preview of a 12 MP and a 48 MP
// JPEG through a real easel process against `vips thumbnail` on the same
// files, in the same run, with the peak resident memory of each.
func (r *report) largePhotos(ctx context.Context) error {
	vips, err := cluster.LookPath("vips")
	if err != nil {
		return fmt.Errorf("%w (the yardstick is libvips' command line: apt-get install libvips-tools)", err)
	}
	photos := filepath.Join(os.TempDir(), "easel-bench-photos") // made once, reused by later runs
	const edge = 1600
	t := bench.Table{Header: []string{"photo", "JPEG MiB", "easel upload ms", "easel first preview ms", "easel total ms", "vips thumbnail ms",
		"easel ÷ vips", "easel peak RSS MiB", "vips peak RSS MiB"}}
	var goals []string
	for _, p := range []struct {
		name string
		w, h int
		goal float64
	}{{"12 MP", 4032, 3024, 1.5}, {"48 MP", 8064, 6048, 2}} {
		path, err := bench.LargePhoto(photos, p.w, p.h)
		if err != nil {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		var easel, vipsRuns []bench.LargeRun
		for range r.s.largeRounds { // alternating, so drift in the machine's load hits both
			e, err := bench.EaselLargePhoto(ctx, r.bin, filepath.Join(r.s.work, "large-photos"), path)
			if err != nil {
				return err
			}
			easel = append(easel, e)
			v, err := bench.VipsThumbnail(ctx, vips, r.s.work, path, edge)
			if err != nil {
				return err
			}
			vipsRuns = append(vipsRuns, v)
		}
		med := func(runs []bench.LargeRun, f func(bench.LargeRun) float64) float64 {
			var vs []float64
			for _, x := range runs {
				vs = append(vs, f(x))
			}
			return bench.Median(vs)
		}
		up := med(easel, func(x bench.LargeRun) float64 { return x.UploadMs })
		pv := med(easel, func(x bench.LargeRun) float64 { return x.PreviewMs })
		tot := med(easel, bench.LargeRun.TotalMs)
		vt := med(vipsRuns, func(x bench.LargeRun) float64 { return x.PreviewMs })
		const mib = 1 << 20
		erss := med(easel, func(x bench.LargeRun) float64 { return x.PeakRSS }) / mib
		vrss := med(vipsRuns, func(x bench.LargeRun) float64 { return x.PeakRSS }) / mib
		ratio := tot / vt
		t.Rows = append(t.Rows, []string{fmt.Sprintf("%s (%d×%d)", p.name, p.w, p.h), bench.Num(float64(st.Size())/mib, 1),
			bench.Num(up, 0), bench.Num(pv, 0), bench.Num(tot, 0), bench.Num(vt, 0), bench.Ratio(ratio), bench.Num(erss, 0), bench.Num(vrss, 0)})
		r.ratios = append(r.ratios, fmt.Sprintf("%s JPEG upload + first preview: %.0f ms, %.2f× vips thumbnail (goal ≤ %g×: %s), peak RSS %.0f MiB (vips %.0f MiB)",
			p.name, tot, ratio, p.goal, strings.Trim(goal(ratio <= p.goal), "*"), erss, vrss))
		goals = append(goals, fmt.Sprintf("%s within %g× vips: %s (%.2f×)", p.name, p.goal, goal(ratio <= p.goal), ratio))
		if p.name == "48 MP" {
			goals = append(goals, fmt.Sprintf("one 48 MP upload + first preview under 300 MiB peak RSS: %s (%.0f MiB)", goal(erss <= 300), erss))
			r.ratios = append(r.ratios, fmt.Sprintf("48 MP upload + first preview peak RSS: %.0f MiB (goal ≤ 300 MiB: %s)", erss, strings.Trim(goal(erss <= 300), "*")))
		}
	}
	r.add("6. Large photos: upload + first preview vs vips thumbnail",
		fmt.Sprintf("A photo-like JPEG (smooth gradients and shading, texture and sensor noise; quality 90, 4:2:0; made at run time and cached in %s) "+
			"is uploaded to a fresh `easel serve` process (one replica, memory sessions) through `POST /api/v1/image`, "+
			"then its first preview is rendered (`GET /api/v1/workspace/render?size=preview`, a %d px JPEG). "+
			"The yardstick is libvips' shrink-on-load preview of the same file, `vips thumbnail in.jpg out.jpg %d` (Debian's libvips-tools, a separate process). "+
			"Peak RSS is the easel process's VmHWM after the preview (the process started fresh, so it is this photo's high-water mark, "+
			"including the Go runtime and the idle server) and vips' as GNU time reports it (`/usr/bin/time -f %%M`; the child's own rusage would count the benchmark process's memory). %d rounds alternating; medians.\n",
			photos, edge, edge, r.s.largeRounds),
		cmdLine(r.command), t.String(), "Goals: "+strings.Join(goals, "; ")+".\n")
	return nil
}

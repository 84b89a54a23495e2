package testutil

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/easelhq/easel/internal/cluster"
)

// WeedEnv, when set to a SeaweedFS weed binary, makes StartS3 start
// `weed server -s3` instead of the default server: a parity check of the
// S3 tests against a production S3 implementation, which CI does not build
// (a cold build of weed takes about 11 CPU-minutes).
const WeedEnv = "EASEL_WEED"

// startWeed starts `weed server -s3` (master, volume server, filer and S3
// gateway in one process) on free loopback ports with its data in
// t.TempDir, with one identity allowed everything.
func startWeed(t testing.TB, bin string) *S3Server {
	t.Helper()
	dir := t.TempDir()
	s := &S3Server{AccessKeyID: "easeltest", SecretAccessKey: "easeltest-secret-key-0123456789", http: http.DefaultClient}
	ident := map[string]any{"identities": []map[string]any{{
		"name":        "easel",
		"credentials": []map[string]string{{"accessKey": s.AccessKeyID, "secretKey": s.SecretAccessKey}},
		"actions":     []string{"Admin", "Read", "Write", "List", "Tagging"},
	}}}
	cfg, err := json.Marshal(ident)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "s3.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{"server", "-s3", "-filer", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=" + filepath.Join(dir, "data"),
		"-master.telemetry=false", "-master.volumeSizeLimitMB=64", "-volume.max=16", "-s3.port.iceberg=0",
		"-s3.config=" + filepath.Join(dir, "s3.json")}
	for _, name := range []string{"master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc"} {
		p, err := cluster.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, "-"+name+"="+strconv.Itoa(p))
		if name == "s3.port" {
			s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(p)
		}
	}
	s.runAs(t, bin, args, dir, filepath.Join(dir, "weed.log"), 60*time.Second)
	s.Start()
	t.Cleanup(func() { s.Stop() })
	return s
}

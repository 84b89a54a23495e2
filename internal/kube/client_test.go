package kube

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kubeconfig = `apiVersion: v1
kind: Config
current-context: kind-a
clusters:
- name: a
  cluster: {server: "https://127.0.0.1:6443"}
- name: b
  cluster: {server: "https://127.0.0.2:7443"}
users:
- name: u
  user: {token: secret}
contexts:
- name: kind-a
  context: {cluster: a, user: u}
- name: kind-b
  context: {cluster: b, user: u, namespace: easel}
`

func TestRESTConfig(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		context, wantHost, wantNS, wantErr string
	}{
		{context: "", wantHost: "https://127.0.0.1:6443", wantNS: "default"},
		{context: "kind-b", wantHost: "https://127.0.0.2:7443", wantNS: "easel"},
		{context: "nope", wantErr: `context "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.context, func(t *testing.T) {
			t.Parallel()
			cfg, ns, err := RESTConfig(KubeconfigOptions{Path: path, Context: tt.context})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("RESTConfig = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("RESTConfig: %v", err)
			}
			if cfg.Host != tt.wantHost || ns != tt.wantNS {
				t.Errorf("host %q, namespace %q; want %q, %q", cfg.Host, ns, tt.wantHost, tt.wantNS)
			}
		})
	}
}

// Command coredns is CoreDNS v1.15 with only the plugins a single-node
// cluster's kube-dns needs (hack/cluster/coredns.yaml's Corefile). The stock
// build compiles ~60 plugins, among them cloud DNS providers and tracing
// SDKs, and takes about 8 minutes on 2 cores; this one compiles a fraction of
// that. It is CoreDNS's own documented way to choose plugins at build time:
// import the plugins and keep dnsserver.Directives in their stock order.
package main

import (
	"slices"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/reload"
)

// plugins are the directives compiled in; every other directive is dropped
// from dnsserver.Directives, which keeps the order CoreDNS defines.
var plugins = []string{"cache", "errors", "health", "kubernetes", "loadbalance", "log", "ready", "reload"}

func main() {
	dnsserver.Directives = slices.DeleteFunc(slices.Clone(dnsserver.Directives), func(d string) bool {
		return !slices.Contains(plugins, d)
	})
	coremain.Run()
}

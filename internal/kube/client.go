package kube

import (
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DefaultPollInterval is how often WaitForRollout reads the Deployment when
// Options.PollInterval is not set.
const DefaultPollInterval = time.Second

// Options tune a Client. The zero value is ready to use.
type Options struct {
	// PollInterval is how often WaitForRollout reads the Deployment's
	// status; DefaultPollInterval when zero.
	PollInterval time.Duration
	// Now returns the current time, for the restartedAt annotation and
	// chaos events; time.Now when nil.
	Now func() time.Time
}

// Client performs the Deployment operations on one cluster. It is safe for
// concurrent use.
type Client struct {
	c    client.Client
	poll time.Duration
	now  func() time.Time
}

// KubeconfigOptions choose a kubeconfig and a context the way kubectl does.
type KubeconfigOptions struct {
	// Path is an explicit kubeconfig file (kubectl's --kubeconfig); empty
	// follows $KUBECONFIG, then ~/.kube/config, then the in-cluster config.
	Path string
	// Context is the context to use (kubectl's --context); empty means the
	// kubeconfig's current context.
	Context string
}

// RESTConfig loads the client configuration selected by o with the usual
// kubeconfig loading rules, and returns it with the context's namespace
// ("default" when the context sets none).
func RESTConfig(o KubeconfigOptions) (*rest.Config, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Path != "" {
		rules.ExplicitPath = o.Path
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		if o.Context != "" {
			return nil, "", fmt.Errorf("loading kubeconfig (context %q): %w", o.Context, err)
		}
		return nil, "", fmt.Errorf("loading kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		return nil, "", fmt.Errorf("reading the context's namespace: %w", err)
	}
	return cfg, ns, nil
}

// New returns a Client that talks to the API server described by cfg.
func New(cfg *rest.Config, o Options) (*Client, error) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("building scheme: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("creating kubernetes client: %w", err)
	}
	return NewForClient(c, o), nil
}

// NewForClient returns a Client on an existing controller-runtime client,
// whose scheme must know apps/v1, core/v1 and autoscaling/v1.
func NewForClient(c client.Client, o Options) *Client {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{c: c, poll: o.PollInterval, now: o.Now}
}

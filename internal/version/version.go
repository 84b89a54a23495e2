// Package version holds the build's version, stamped at link time with
// -ldflags "-X github.com/easelhq/easel/internal/version.Version=v1.2.3".
package version

// Version is the release this binary was built from. It is a variable only so
// that the linker can set it; nothing assigns it at run time.
var Version = "dev"

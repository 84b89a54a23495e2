// Command gofakes3 is the S3-compatible server easel's tests start on
// loopback: gofakes3's S3 API on a bbolt file (so a stopped and restarted
// server keeps its objects, as a real one does), behind AWS Signature V4
// checks (Authorization header and presigned query), so that a wrong access
// key or secret is refused with 403 the way S3 refuses it.
//
// Why not SeaweedFS (the suggestion): a cold build of `weed` takes
// about 11 CPU-minutes here, and weed/server links every filer store, so a
// trimmed main would save little. This builds in well under a minute.
//
// Usage: gofakes3 -addr 127.0.0.1:PORT -db FILE -access-key AK -secret-key SK [-bucket NAME] [-tls-cert F -tls-key F]
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3bolt"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "`host:port` to listen on")
	db := flag.String("db", "s3.db", "bbolt `file` holding the buckets")
	accessKey := flag.String("access-key", "", "the one access key ID accepted")
	secretKey := flag.String("secret-key", "", "its secret access key")
	bucket := flag.String("bucket", "", "a `bucket` to create at start")
	certFile := flag.String("tls-cert", "", "serve HTTPS with this PEM certificate `file` (with -tls-key)")
	keyFile := flag.String("tls-key", "", "the PEM private key `file` of -tls-cert")
	throttle := flag.String("throttle-file", "", "while this `file` exists, answer every request 503 SlowDown, as a throttling S3 does")
	flag.Parse()
	if *accessKey == "" || *secretKey == "" {
		log.Fatal("gofakes3: -access-key and -secret-key are required")
	}
	backend, err := s3bolt.NewFile(*db)
	if err != nil {
		log.Fatal(err)
	}
	if *bucket != "" {
		if err := backend.CreateBucket(*bucket); err != nil && !gofakes3.HasErrorCode(err, gofakes3.ErrBucketAlreadyExists) {
			log.Fatal(err)
		}
	}
	faker := gofakes3.New(backend, gofakes3.WithAutoBucket(false), gofakes3.WithLogger(gofakes3.DiscardLog()))
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{
		Handler:           slowDown(*throttle, &sigV4{next: faker.Server(), accessKey: *accessKey, secretKey: *secretKey, now: time.Now}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Printf("gofakes3 listening on %s", ln.Addr())
	if *certFile != "" {
		err = srv.ServeTLS(ln, *certFile, *keyFile)
	} else {
		err = srv.Serve(ln)
	}
	if err != nil {
		log.Print(err)
		os.Exit(1)
	}
}

// slowDown answers 503 SlowDown while the file exists (never when it is "").
func slowDown(file string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(file); file != "" && err == nil {
			w.Header().Set("Content-Type", "application/xml")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`))
			return
		}
		next.ServeHTTP(w, r)
	})
}

package standin_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sprigsync/sprigsync/sprig"
	"github.com/sprigsync/sprigsync/standin"
)

// BenchmarkUpsert drives the stand-in through a real loopback listener
// with the sprig client: 16 goroutines per CPU, each sending one realistic
// user (10 attributes, about 330 bytes) per iteration, all distinct. It
// reports the sustained rate as req/s.
//
//	go test ./standin -run '^$' -bench BenchmarkUpsert -benchtime 5s
func BenchmarkUpsert(b *testing.B) {
	const key = "bench-key"
	s := standin.New(standin.Options{Keys: map[string]string{key: "production"}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	c, err := sprig.NewClient(sprig.Options{BaseURL: "http://" + ln.Addr().String(), APIKey: key, MaxIdleConns: 256})
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()

	var seq atomic.Int64
	var failed atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 0, 512)
		for pb.Next() {
			n := seq.Add(1)
			buf = fmt.Appendf(buf[:0], `{"userId":"user-%08d","emailAddress":"user%d@example.com","attributes":{`+
				`"plan":"pro","seats":%d,"mrr":%d.50,"trial":false,"country":"DE","company":"Example GmbH",`+
				`"signup_day":"2024-05-17","score":0.875,"role":"admin","active":true}}`, n, n, n%50, n%1000)
			if err := c.UpsertUser(context.Background(), buf); err != nil {
				failed.Add(1)
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d of %d upserts failed", f, b.N)
	}
	if st := s.Stats(); st.UpsertsAccepted != int64(b.N) {
		b.Fatalf("stand-in accepted %d of %d", st.UpsertsAccepted, b.N)
	}
}

package standin_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/sprigsync/sprigsync/sprig"
	"github.com/sprigsync/sprigsync/standin"
)

// New serves a stand-in on a loopback listener. Upserts merge attributes,
// and /standin/users returns what an environment holds, numbers as sent.
func ExampleNew() {
	s := standin.New(standin.Options{Keys: map[string]string{"dev-key": "development"}})
	srv := httptest.NewServer(s)
	defer srv.Close()

	c, _ := sprig.NewClient(sprig.Options{BaseURL: srv.URL, APIKey: "dev-key"})
	ctx := context.Background()
	_ = c.UpsertUser(ctx, []byte(`{"userId":"u1","attributes":{"plan":"free","mrr":0.50}}`))
	_ = c.UpsertUser(ctx, []byte(`{"userId":"u1","emailAddress":"ana@example.com","attributes":{"plan":"pro"}}`))

	resp, err := http.Get(srv.URL + "/standin/users?environment=development")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	_, _ = io.Copy(os.Stdout, resp.Body)
	fmt.Println()

	st := s.Stats()
	fmt.Println(st.UpsertsAccepted, st.Requests[standin.EndpointUpsert])
	// Output:
	// {"u1":{"userId":"u1","emailAddress":"ana@example.com","attributes":{"mrr":0.50,"plan":"pro"}}}
	// 2 map[202:2]
}

package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
)

func TestServerConfig_UsersAndPermissions(t *testing.T) {
	d, err := WriteDevCerts(t.TempDir(), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	text, err := ServerConfig(ServerOptions{Nodes: []string{"a", "b"}, Prefix: "acme", CertFile: d.ServerCert, KeyFile: d.ServerKey, CAFile: d.CAFile, Port: 4333})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`listen: "127.0.0.1:4333"`,
		`verify_and_map: true`,
		`ca_file: ` + strconv.Quote(d.CAFile),
		`{ user: "CN=b", permissions: { publish: { allow: ["acme.f.*.b", "acme.hb.b"] }, subscribe: { allow: ["acme.f.b.*", "acme.hb.*"] } } }`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("config lacks %s:\n%s", want, text)
		}
	}
	// nats-server reads it back as written
	opts := &server.Options{}
	if err := opts.ProcessConfigString(text); err != nil {
		t.Fatalf("nats-server rejects the config: %v\n%s", err, text)
	}
	if len(opts.Users) != 2 || opts.Users[1].Username != "CN=b" || !opts.TLSMap {
		t.Fatalf("parsed users %+v, map %v", opts.Users, opts.TLSMap)
	}
	if opts.TLSConfig == nil || opts.TLSConfig.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Fatalf("client certificates are not required: %+v", opts.TLSConfig)
	}
	p := opts.Users[1].Permissions
	if got := strings.Join(p.Publish.Allow, " "); got != "acme.f.*.b acme.hb.b" {
		t.Errorf("b publishes to %s", got)
	}
	if got := strings.Join(p.Subscribe.Allow, " "); got != "acme.f.b.* acme.hb.*" {
		t.Errorf("b subscribes to %s", got)
	}
	if opts.MaxPayload != DefaultMaxPayload {
		t.Errorf("max_payload %d", opts.MaxPayload)
	}
}

func TestServerConfig_Refuses(t *testing.T) {
	files := ServerOptions{CertFile: "s.pem", KeyFile: "s-key.pem", CAFile: "ca.pem"}
	cases := map[string]ServerOptions{
		"no tls":       {Nodes: []string{"a"}},
		"no nodes":     files,
		"bad node":     {Nodes: []string{"a b"}, CertFile: "s.pem", KeyFile: "s-key.pem", CAFile: "ca.pem"},
		"twice":        {Nodes: []string{"a", "a"}, CertFile: "s.pem", KeyFile: "s-key.pem", CAFile: "ca.pem"},
		"wild prefix":  {Nodes: []string{"a"}, Prefix: "*", CertFile: "s.pem", KeyFile: "s-key.pem", CAFile: "ca.pem"},
		"dotted prefx": {Nodes: []string{"a"}, Prefix: "a.b", CertFile: "s.pem", KeyFile: "s-key.pem", CAFile: "ca.pem"},
	}
	for name, o := range cases {
		if _, err := ServerConfig(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestWriteDevCerts_NodeCertificateNamesTheNode(t *testing.T) {
	d, err := WriteDevCerts(t.TempDir(), []string{"alpha"})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, ok := d.Node("alpha")
	if !ok {
		t.Fatal("no certificate for alpha")
	}
	if _, _, ok := d.Node("beta"); ok {
		t.Error("a certificate for a node never asked for")
	}
	raw, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got := cert.Subject.String(); got != NodeUser("alpha") {
		t.Errorf("subject %q, want %q", got, NodeUser("alpha"))
	}
	caRaw, _ := os.ReadFile(d.CAFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caRaw)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("node certificate does not verify as a client: %v", err)
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v", fi.Mode(), err)
	}
	if _, err := WriteDevCerts(t.TempDir(), []string{"../x"}); err == nil {
		t.Error("a node name with a path accepted")
	}
}

func TestBenchRawRTT_MeasuresEachRoundTrip(t *testing.T) {
	srv, err := StartDevServer(ServerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	rtts, err := BenchRawRTT(srv.URL(), 5, 16)
	if err != nil {
		t.Fatal(err)
	}
	if len(rtts) != 5 {
		t.Fatalf("%d round trips, want 5", len(rtts))
	}
	for i, d := range rtts {
		if d <= 0 {
			t.Errorf("round trip %d took %v", i, d)
		}
	}
	if _, err := BenchRawRTT(srv.URL(), 0, 16); err == nil {
		t.Error("n = 0 accepted")
	}
}

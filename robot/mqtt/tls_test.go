package mqtt_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/vstgo/vst/robot/mqtt"
)

// writeCert makes a certificate for tmpl signed by parent (self-signed when
// parent is nil) and writes it and its key as PEM files named name.pem and
// name.key in dir.
func writeCert(t *testing.T, dir, name string, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	return cert, key
}

func TestTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	now := time.Now()
	ca, caKey := writeCert(t, dir, "ca", &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vst test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	writeCert(t, dir, "server", &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey)
	writeCert(t, dir, "client", &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "robot"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, caKey)
	f := func(name string) string { return filepath.Join(dir, name) }

	tlsPort, mtlsPort := freePort(t), freePort(t)
	b := startBroker(t,
		fmt.Sprintf("listener %d 127.0.0.1", tlsPort),
		"cafile "+f("ca.pem"), "certfile "+f("server.pem"), "keyfile "+f("server.key"),
		fmt.Sprintf("listener %d 127.0.0.1", mtlsPort),
		"cafile "+f("ca.pem"), "certfile "+f("server.pem"), "keyfile "+f("server.key"),
		"require_certificate true")
	require.NoError(t, waitPort(tlsPort))
	require.NoError(t, waitPort(mtlsPort))
	sub := subscribe(t, b.URL(), "sub-tls", false, "vla/+/events")

	for i, ca := range []struct {
		name string
		cfg  mqtt.Config
		err  string
	}{
		{name: "trusted CA", cfg: mqtt.Config{BrokerURL: fmt.Sprintf("ssl://127.0.0.1:%d", tlsPort), CAFile: f("ca.pem")}},
		{name: "insecure skip verify", cfg: mqtt.Config{BrokerURL: fmt.Sprintf("mqtts://127.0.0.1:%d", tlsPort), InsecureSkipVerify: true}},
		{name: "client certificate", cfg: mqtt.Config{BrokerURL: fmt.Sprintf("ssl://127.0.0.1:%d", mtlsPort), CAFile: f("ca.pem"), CertFile: f("client.pem"), KeyFile: f("client.key")}},
		{name: "unknown CA", cfg: mqtt.Config{BrokerURL: fmt.Sprintf("ssl://127.0.0.1:%d", tlsPort)}, err: "x509: certificate signed by unknown authority"},
		{name: "no client certificate", cfg: mqtt.Config{BrokerURL: fmt.Sprintf("ssl://127.0.0.1:%d", mtlsPort), CAFile: f("ca.pem")}, err: "not connected: connect to ssl://127.0.0.1:"}, // TLS alert or reset: varies,
	} {
		t.Run(ca.name, func(t *testing.T) {
			ca.cfg.RobotID = fmt.Sprintf("tls%d", i)
			c := newClient(t, ca.cfg)
			if ca.err != "" {
				require.ErrorContains(t, connectError(t, c), ca.err)
				return
			}
			waitConnected(t, c)
			require.NoError(t, c.PublishEvent(mqtt.Event{Type: mqtt.EventEpisode, Result: "success"}))
			ev := decode[mqtt.Event](t, sub.next(t, 3*time.Second).Payload())
			require.Equal(t, ca.cfg.RobotID, ev.RobotID)
			require.Equal(t, "success", ev.Result)
		})
	}
}

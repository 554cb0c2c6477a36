package lockbox

import "testing"

// Plaintext is for loopback hosts only; everything else gets TLS.
func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1":                            true,
		"::1":                                  true,
		"localhost":                            true,
		"127.0.0.2":                            true,
		"payload.lockbox.api.cloud.yandex.net": false,
		"10.0.0.1":                             false,
		"169.254.169.254":                      false,
		"localhost.example.com":                false,
		"":                                     false,
	} {
		if got := isLoopback(host); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

func TestDial_refuses_an_endpoint_without_port(t *testing.T) {
	if _, err := dial("payload.lockbox.api.cloud.yandex.net", 0); err == nil {
		t.Fatal("dial without a port succeeded")
	}
}

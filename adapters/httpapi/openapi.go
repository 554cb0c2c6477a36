package httpapi

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3.0 document of every route New registers; a test
// walks the router and keeps the two in step.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns a copy of the API's OpenAPI 3.0 document (JSON).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// openAPIDoc serves the document, unauthenticated.
func (s *server) openAPIDoc(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPI)
}

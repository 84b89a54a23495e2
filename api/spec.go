// Package api embeds easel's OpenAPI description, served at /api/openapi.yaml
// and used by the tests to validate requests and responses.
package api

import _ "embed"

// Spec is the OpenAPI 3.1 document (openapi.yaml beside this file).
//
//go:embed openapi.yaml
var Spec []byte

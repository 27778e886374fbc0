package cloudwatch

import "net/http"

// Replaced by handler.go.
func isRequest(r *http.Request) bool                            { return false }
func newHandler(svc *Service, opts HandlerOptions) http.Handler { return http.NotFoundHandler() }

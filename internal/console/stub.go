package console

import "net/http"

// Replaced by the real assets.
func handler() http.Handler { return http.NotFoundHandler() }

package fault

import (
	"encoding/json"
	"io"
	"net/http"
)

// maxBody bounds an admin request body.
const maxBody = 1 << 20

// Handler serves /admin/faults:
//
//	GET     the rules, a JSON array
//	PUT     replace every rule with the JSON array in the body
//	POST    append the one rule (a JSON object) in the body
//	DELETE  remove every rule
//
// Every success answers 200 with the rules now in force.
func (f *Injector) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
		case http.MethodDelete:
			f.Clear()
		case http.MethodPut, http.MethodPost:
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
			if err != nil {
				writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Message: "body larger than 1 MiB"})
				return
			}
			if r.Method == http.MethodPut {
				var rules []Rule
				if rules, err = Parse(body); err == nil {
					err = f.Set(rules)
				}
			} else {
				var rule Rule
				if rule, err = ParseRule(body); err == nil {
					err = f.Add(rule)
				}
			}
			if err != nil {
				writeJSON(w, http.StatusBadRequest, errorBody{Message: err.Error()})
				return
			}
		default:
			w.Header().Set("Allow", "GET, HEAD, PUT, POST, DELETE")
			writeJSON(w, http.StatusMethodNotAllowed, errorBody{Message: "use GET, PUT, POST or DELETE"})
			return
		}
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Type", "application/json")
			return
		}
		writeJSON(w, http.StatusOK, f.Rules())
	})
}

type errorBody struct {
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

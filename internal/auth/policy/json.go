package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// A policy nests at most 7 levels (document, Statement list, statement,
// Condition, operator, key, value list); the cap only has to stop
// hostile input from recursing without bound.
const maxDepth = 16

type kind uint8

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

func (k kind) String() string {
	switch k {
	case kBool:
		return "a boolean"
	case kNumber:
		return "a number"
	case kString:
		return "a string"
	case kArray:
		return "a list"
	case kObject:
		return "an object"
	}
	return "null"
}

// node is a decoded JSON value. Objects keep their keys in document
// order so errors name the first offending element.
type node struct {
	kind  kind
	str   string // string value, number text, or "true"/"false"
	items []*node
	keys  []string
	vals  []*node
}

func (n *node) get(key string) *node {
	for i, k := range n.keys {
		if k == key {
			return n.vals[i]
		}
	}
	return nil
}

// decodeJSON builds a tree with the token API rather than Unmarshal:
// IAM rejects duplicate keys, which Unmarshal silently merges.
func decodeJSON(doc []byte) (*node, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	n, err := readValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, syntaxErr("Unexpected data after the policy document.")
	}
	return n, nil
}

func readValue(dec *json.Decoder, depth int) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(err)
	}
	switch t := tok.(type) {
	case json.Delim:
		if depth >= maxDepth {
			return nil, syntaxErr("The document is nested too deeply.")
		}
		switch t {
		case '{':
			return readObject(dec, depth)
		case '[':
			return readArray(dec, depth)
		}
		return nil, syntaxErr(fmt.Sprintf("Unexpected %q.", rune(t)))
	case string:
		return &node{kind: kString, str: t}, nil
	case json.Number:
		return &node{kind: kNumber, str: string(t)}, nil
	case bool:
		if t {
			return &node{kind: kBool, str: "true"}, nil
		}
		return &node{kind: kBool, str: "false"}, nil
	case nil:
		return &node{kind: kNull}, nil
	}
	return nil, syntaxErr("Unexpected JSON token.")
}

func readObject(dec *json.Decoder, depth int) (*node, error) {
	n := &node{kind: kObject}
	var seen map[string]struct{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, syntaxErr("Object keys must be strings.")
		}
		// A map only once objects get big, so small ones stay cheap.
		if seen == nil && len(n.keys) >= 8 {
			seen = make(map[string]struct{}, 16)
			for _, k := range n.keys {
				seen[k] = struct{}{}
			}
		}
		dup := false
		if seen != nil {
			_, dup = seen[key]
			seen[key] = struct{}{}
		} else {
			for _, k := range n.keys {
				if k == key {
					dup = true
					break
				}
			}
		}
		if dup {
			return nil, syntaxErr(fmt.Sprintf("Duplicate element %q.", key))
		}
		v, err := readValue(dec, depth+1)
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, key)
		n.vals = append(n.vals, v)
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, jsonErr(err)
	}
	return n, nil
}

func readArray(dec *json.Decoder, depth int) (*node, error) {
	n := &node{kind: kArray}
	for dec.More() {
		v, err := readValue(dec, depth+1)
		if err != nil {
			return nil, err
		}
		n.items = append(n.items, v)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, jsonErr(err)
	}
	return n, nil
}

func jsonErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return syntaxErr("The document ends early.")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return syntaxErr(fmt.Sprintf("Invalid JSON at offset %d: %s.", se.Offset, se.Error()))
	}
	return syntaxErr("Invalid JSON: " + err.Error() + ".")
}

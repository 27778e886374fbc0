// Package auth holds the identities Rivulet knows: the credentials file of
// `rivulet serve --auth=sigv4 --credentials FILE`, read into a Keyring of
// Principals. Signatures are checked by internal/auth/sigv4; identity
// policies are parsed here once, and evaluated by internal/auth/authz.
package auth

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rivulet/rivulet/internal/auth/policy"
	"github.com/rivulet/rivulet/internal/readfile"
)

// Principal is one access key and who it acts for.
type Principal struct {
	AccessKeyID     string
	SecretAccessKey string
	// SessionToken, if set, must come with every request signed by this
	// key (X-Amz-Security-Token), as with temporary credentials.
	SessionToken string
	// Expiration, if not zero, is when the key stops working.
	Expiration time.Time
	// Account is the 12-digit account whose streams the key works on.
	Account string
	// ARN names the principal in policies and error messages, such as
	// arn:aws:iam::123456789012:user/alice.
	ARN string
	// Policies are identity-based policy documents as written, and
	// Identity the same parsed (by NewKeyring), for authorization.
	Policies []json.RawMessage
	Identity []*policy.Policy
}

// Expired reports whether the key has expired at now.
func (p *Principal) Expired(now time.Time) bool {
	return !p.Expiration.IsZero() && !now.Before(p.Expiration)
}

// Keyring finds principals by access key id. It does not change once
// built, so it is safe for concurrent use.
type Keyring struct {
	byKey map[string]*Principal
	src   []byte
}

// Lookup returns the principal of an access key id. It is shared: callers
// must not change it.
func (k *Keyring) Lookup(accessKeyID string) (*Principal, bool) {
	if k == nil {
		return nil, false
	}
	p, ok := k.byKey[accessKeyID]
	return p, ok
}

// Len is the number of access keys.
func (k *Keyring) Len() int {
	if k == nil {
		return 0
	}
	return len(k.byKey)
}

// NewKeyring checks every principal and indexes them by access key id.
// An empty ARN becomes the account's root, arn:aws:iam::ACCOUNT:root.
func NewKeyring(ps []Principal) (*Keyring, error) {
	k := &Keyring{byKey: make(map[string]*Principal, len(ps))}
	where := make(map[string]int, len(ps))
	for i := range ps {
		p := ps[i] // a copy: the keyring owns its principals
		if err := check(&p); err != nil {
			return nil, fmt.Errorf("%s: %w", entryName(i, p.AccessKeyID), err)
		}
		if j, dup := where[p.AccessKeyID]; dup {
			return nil, fmt.Errorf("%s: accessKeyId is already used by credentials[%d]", entryName(i, p.AccessKeyID), j)
		}
		where[p.AccessKeyID] = i
		k.byKey[p.AccessKeyID] = &p
	}
	return k, nil
}

func entryName(i int, akid string) string {
	if akid == "" {
		return fmt.Sprintf("credentials[%d]", i)
	}
	return fmt.Sprintf("credentials[%d] (accessKeyId %q)", i, akid)
}

// check validates one principal and fills in its default ARN.
func check(p *Principal) error {
	switch {
	case p.AccessKeyID == "":
		return errors.New("accessKeyId is required")
	case !validKeyID(p.AccessKeyID):
		// These characters would change how the Authorization header or
		// the credential scope is read.
		return errors.New("accessKeyId must be printable ASCII without spaces, ',', '/' or '='")
	case p.SecretAccessKey == "":
		return errors.New("secretAccessKey is required")
	case p.Account == "":
		return errors.New("account is required (12 digits)")
	case !IsAccountID(p.Account):
		return fmt.Errorf("account %q is not 12 digits", p.Account)
	}
	if p.ARN == "" {
		p.ARN = "arn:aws:iam::" + p.Account + ":root"
	}
	acct, ok := principalAccount(p.ARN)
	if !ok {
		return fmt.Errorf("principal %q is not an IAM or STS ARN (arn:aws:iam::ACCOUNT:user/NAME, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, ...)", p.ARN)
	}
	if acct != p.Account {
		return fmt.Errorf("principal %q is in account %s, not in account %s", p.ARN, acct, p.Account)
	}
	p.Identity = nil
	for i, doc := range p.Policies {
		if d := bytes.TrimSpace(doc); len(d) == 0 || d[0] != '{' {
			return fmt.Errorf("policies[%d] is not a JSON object", i)
		}
		pol, err := policy.Parse(doc)
		if err == nil {
			err = pol.ValidateIdentity()
		}
		if err != nil {
			return fmt.Errorf("policies[%d]: %w", i, err)
		}
		p.Identity = append(p.Identity, pol)
	}
	return nil
}

func validKeyID(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == ',' || c == '/' || c == '=' {
			return false
		}
	}
	return true
}

// IsAccountID reports whether s is an AWS account id: 12 digits.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// principalAccount reads the account of arn:PARTITION:iam|sts::ACCOUNT:RESOURCE.
func principalAccount(arn string) (string, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[3] != "" || parts[5] == "" {
		return "", false
	}
	if parts[2] != "iam" && parts[2] != "sts" {
		return "", false
	}
	return parts[4], true
}

// file is the credentials file's layout.
type file struct {
	Credentials []json.RawMessage `json:"credentials"`
}

type fileEntry struct {
	AccessKeyID     string            `json:"accessKeyId"`
	SecretAccessKey string            `json:"secretAccessKey"`
	SessionToken    string            `json:"sessionToken"`
	Expiration      string            `json:"expiration"`
	Account         string            `json:"account"`
	Principal       string            `json:"principal"`
	Policies        []json.RawMessage `json:"policies"`
}

// maxFileSize keeps a wrong path (a data file, a device) from being read
// whole.
const maxFileSize = 16 << 20

// LoadFile reads a credentials file; errors name the file, and the entry
// and field at fault.
func LoadFile(path string) (*Keyring, error) {
	data, err := readfile.Limited(path, maxFileSize)
	if err != nil {
		return nil, fmt.Errorf("credentials file: %w", err)
	}
	k, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("credentials file %s: %w", path, err)
	}
	return k, nil
}

// Parse reads the JSON of a credentials file:
//
//	{"credentials": [{"accessKeyId": "...", "secretAccessKey": "...", "account": "123456789012",
//	  "sessionToken": "...", "expiration": "RFC 3339", "principal": "arn:...", "policies": [{...}]}]}
func Parse(data []byte) (*Keyring, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	// A misspelt field would otherwise be a silently missing setting.
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, jsonError(data, err)
	}
	if dec.More() {
		return nil, errors.New("unexpected data after the JSON object")
	}
	if f.Credentials == nil {
		return nil, errors.New(`no "credentials" array`)
	}
	ps := make([]Principal, len(f.Credentials))
	for i, raw := range f.Credentials {
		var e fileEntry
		ed := json.NewDecoder(bytes.NewReader(raw))
		ed.DisallowUnknownFields()
		if err := ed.Decode(&e); err != nil {
			return nil, fmt.Errorf("credentials[%d]: %w", i, err)
		}
		ps[i] = Principal{
			AccessKeyID:     e.AccessKeyID,
			SecretAccessKey: e.SecretAccessKey,
			SessionToken:    e.SessionToken,
			Account:         e.Account,
			ARN:             e.Principal,
			Policies:        e.Policies,
		}
		if e.Expiration != "" {
			t, err := time.Parse(time.RFC3339, e.Expiration)
			if err != nil {
				return nil, fmt.Errorf("%s: expiration %q is not an RFC 3339 time such as 2030-01-02T15:04:05Z", entryName(i, e.AccessKeyID), e.Expiration)
			}
			ps[i].Expiration = t
		}
	}
	k, err := NewKeyring(ps)
	if err != nil {
		return nil, err
	}
	k.src = bytes.Clone(data)
	return k, nil
}

// Source is the credentials file a Keyring was parsed from (nil for one
// built by NewKeyring): what is shared with other processes through NATS.
func (k *Keyring) Source() []byte { return k.src }

// jsonError adds the line and column to a decoding error.
func jsonError(data []byte, err error) error {
	var off int64 = -1
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		off = syn.Offset
	case errors.As(err, &typ):
		off = typ.Offset
	}
	// Offset counts the bytes read, the bad one included.
	pos := off - 1
	if pos < 0 || pos >= int64(len(data)) {
		return fmt.Errorf("not valid JSON: %w", err)
	}
	line := 1 + bytes.Count(data[:pos], []byte("\n"))
	col := pos - int64(bytes.LastIndexByte(data[:pos], '\n'))
	return fmt.Errorf("line %d column %d: %w", line, col, err)
}

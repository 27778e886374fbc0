package kinesis

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/rivulet/rivulet/internal/store"
)

// tokenTTL is how long a NextToken stays valid, as on AWS.
const tokenTTL = 300 * time.Second

// pageToken is the content of a NextToken. It is signed like an iterator so
// that any process on the same storage accepts it and none can forge it.
type pageToken struct {
	Kind       string `json:"k"`
	Account    string `json:"a"`
	Region     string `json:"r"`
	Name       string `json:"n,omitempty"`
	StreamID   string `json:"i,omitempty"`
	After      string `json:"x,omitempty"`
	FilterType string `json:"ft,omitempty"`
	FilterID   string `json:"fs,omitempty"`
	FilterTime int64  `json:"fm,omitempty"`
	Issued     int64  `json:"t"`
}

func (s *Service) encodeToken(ctx context.Context, t pageToken) (string, error) {
	key, err := s.secretKey(ctx)
	if err != nil {
		return "", err
	}
	t.Issued = s.now().UnixMilli()
	body, _ := json.Marshal(t)
	m := hmac.New(sha256.New, key)
	m.Write(body)
	return base64.StdEncoding.EncodeToString(append(body, m.Sum(nil)[:16]...)), nil
}

// decodeToken checks a NextToken's signature, kind and age.
func (s *Service) decodeToken(ctx context.Context, kind, tok string) (pageToken, error) {
	key, err := s.secretKey(ctx)
	if err != nil {
		return pageToken{}, err
	}
	invalid := Errorf(ErrInvalidArgument, "Invalid NextToken.")
	raw, err := base64.StdEncoding.DecodeString(tok)
	if err != nil || len(raw) < 17 {
		return pageToken{}, invalid
	}
	body, mac := raw[:len(raw)-16], raw[len(raw)-16:]
	m := hmac.New(sha256.New, key)
	m.Write(body)
	var t pageToken
	if !hmac.Equal(mac, m.Sum(nil)[:16]) || json.Unmarshal(body, &t) != nil || t.Kind != kind {
		return pageToken{}, invalid
	}
	if s.now().Sub(time.UnixMilli(t.Issued)) > tokenTTL {
		return pageToken{}, Errorf(ErrExpiredNextToken, "The timestamp of the given NextToken has expired.")
	}
	return t, nil
}

func (t pageToken) key() store.StreamKey {
	return store.StreamKey{Account: t.Account, Region: t.Region, Name: t.Name}
}

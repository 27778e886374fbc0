// Package policy parses IAM-style JSON policy documents and evaluates
// requests against them the way AWS does within one account: an
// explicit Deny anywhere wins, otherwise an Allow in an identity-based
// policy or in a resource-based policy naming the caller allows,
// otherwise the request is implicitly denied.
//
// Supported grammar, operators, keys and matching choices are described
// in docs/POLICIES.md. Policy variables (${aws:username}) are not
// expanded; they compare as literal text.
package policy

package kube

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// dnsLabel makes name a DNS-1035 label, as Service names must be: lowercase
// letters, digits and '-', starting with a letter, at most 63 characters.
// A compose name that is one already is kept as it is.
func dnsLabel(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	switch {
	case s == "":
		s = "x"
	case s[0] < 'a' || s[0] > 'z':
		s = "x-" + s
	}
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}

// validLabel reports whether name is a DNS-1035 label.
func validLabel(name string) bool {
	return len(validation.IsDNS1035Label(name)) == 0
}

// validLabelValue reports whether v can be a label's value.
func validLabelValue(v string) bool {
	return len(validation.IsValidLabelValue(v)) == 0
}

// validLabelKey reports whether k can be a label's key.
func validLabelKey(k string) bool {
	return len(validation.IsQualifiedName(k)) == 0
}

// validConfigKey reports whether k can be a key of a ConfigMap or Secret.
func validConfigKey(k string) bool {
	return len(validation.IsConfigMapKey(k)) == 0
}

// validSubdomain reports whether name is a DNS-1123 subdomain, as most
// object names must be.
func validSubdomain(name string) bool {
	return len(validation.IsDNS1123Subdomain(name)) == 0
}

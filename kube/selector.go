package kube

import (
	"k8s.io/apimachinery/pkg/labels"

	"github.com/berth/berth/compose"
)

// ProjectSelector selects everything berth made for project on a cluster:
// Convert puts both labels on every object, pod templates and claim
// templates included.
func ProjectSelector(project string) string {
	return labels.Set{LabelManagedBy: ManagedBy, compose.LabelProject: project}.AsSelector().String()
}

// serviceOf is the compose service an object or pod belongs to.
func serviceOf(l map[string]string) string { return l[compose.LabelService] }

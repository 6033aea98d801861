package kube

import (
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	"github.com/berth/berth/compose"
)

// ProjectSelector selects everything berth made for project on a cluster:
// Convert puts both labels on every object, pod templates and claim
// templates included.
func ProjectSelector(project string) string {
	return labels.Set{LabelManagedBy: ManagedBy, compose.LabelProject: project}.AsSelector().String()
}

// servicesSelector selects what berth made for the services of project:
// ProjectSelector and the compose service label, one of services.
func servicesSelector(project string, services []string) (string, error) {
	req, err := labels.NewRequirement(compose.LabelService, selection.In, services)
	if err != nil {
		return "", fmt.Errorf("services %v: %w", services, err)
	}
	base, err := labels.Parse(ProjectSelector(project))
	if err != nil {
		return "", err
	}
	return base.Add(*req).String(), nil
}

// serviceOf is the compose service an object or pod belongs to.
func serviceOf(l map[string]string) string { return l[compose.LabelService] }

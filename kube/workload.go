package kube

import (
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"maps"
	"slices"

	"github.com/berth/berth/compose"
)

// service makes the workload that runs s: a Job when others wait for it to
// complete, a StatefulSet when it has a named volume, else a Deployment.
func (c *converter) service(s *compose.Service) {
	pod := c.podFor(s)
	if pod == nil {
		return
	}
	name := dnsLabel(s.Name)
	replicas := int32(s.Replicas)
	meta := c.meta(name, s.Name)
	addUserLabels(&meta, s.Labels)
	switch {
	case c.jobs[s.Name]:
		c.objects = append(c.objects, c.job(s, meta, pod))
	case len(pod.claims) > 0:
		if s.Replicas > 1 {
			c.warnf(s.Name, "scale %d with named volumes: each replica gets its own claim of each volume; on one machine they share it", s.Replicas)
		}
		c.restartWarning(s)
		sts := &appsv1.StatefulSet{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
			ObjectMeta: meta,
			Spec: appsv1.StatefulSetSpec{
				Replicas:            &replicas,
				Selector:            &metav1.LabelSelector{MatchLabels: c.selector(s.Name)},
				ServiceName:         name,
				PodManagementPolicy: appsv1.ParallelPodManagement,
				Template:            pod.template,
			},
		}
		var storageClass *string
		if c.o.StorageClass != "" {
			storageClass = &c.o.StorageClass
		}
		for _, vol := range pod.claims {
			sts.Spec.VolumeClaimTemplates = append(sts.Spec.VolumeClaimTemplates, corev1.PersistentVolumeClaim{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
				ObjectMeta: metav1.ObjectMeta{Name: vol, Labels: c.labels(s.Name)},
				Spec: corev1.PersistentVolumeClaimSpec{
					StorageClassName: storageClass,
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources: corev1.VolumeResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(DefaultVolumeSize)},
					},
				},
			})
		}
		c.objects = append(c.objects, sts)
	default:
		c.restartWarning(s)
		c.objects = append(c.objects, &appsv1.Deployment{
			TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
			ObjectMeta: meta,
			Spec: appsv1.DeploymentSpec{
				Replicas: &replicas,
				Selector: &metav1.LabelSelector{MatchLabels: c.selector(s.Name)},
				Template: pod.template,
			},
		})
	}
}

// restartWarning says when a long-running service's restart policy is not
// the one Deployments and StatefulSets have (always).
func (c *converter) restartWarning(s *compose.Service) {
	switch s.Restart.Condition {
	case compose.RestartAlways, compose.RestartUnlessStopped:
		return
	case compose.RestartOnFailure:
		c.warnf(s.Name, "restart on-failure: a Deployment's or StatefulSet's pods are restarted whenever they exit")
	default:
		c.warnf(s.Name, "restart %q: a Deployment's or StatefulSet's pods are restarted whenever they exit; to run it once, make others depend on it with service_completed_successfully (it then runs as a Job)", s.Restart.Condition)
	}
}

// job runs s to completion, as a service others wait for with
// service_completed_successfully.
func (c *converter) job(s *compose.Service, meta metav1.ObjectMeta, pod *podParts) *batchv1.Job {
	backoff := int32(0)
	pod.template.Spec.RestartPolicy = corev1.RestartPolicyNever
	switch s.Restart.Condition {
	case compose.RestartNo:
	case compose.RestartOnFailure:
		pod.template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		backoff = 6 // the Job default, as compose's on-failure has no bound
		if s.Restart.MaxAttempts > 0 {
			backoff = int32(s.Restart.MaxAttempts)
		}
	default:
		pod.template.Spec.RestartPolicy = corev1.RestartPolicyOnFailure
		backoff = 6
		c.warnf(s.Name, "restart %s: it runs as a Job (others wait for it to complete), restarted on failure only, at most %d times", s.Restart.Condition, backoff)
	}
	for _, vol := range pod.claims {
		c.warnf(s.Name, "runs as a Job: its named volume %s is an emptyDir, not kept after it completes", vol)
		pod.template.Spec.Volumes = append(pod.template.Spec.Volumes, corev1.Volume{
			Name: vol, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}},
		})
	}
	n := int32(s.Replicas)
	return &batchv1.Job{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: meta,
		Spec: batchv1.JobSpec{
			Completions:  &n,
			Parallelism:  &n,
			BackoffLimit: &backoff,
			Template:     pod.template,
		},
	}
}

// addUserLabels puts the service's labels on meta: as labels where they
// are valid ones, else as annotations, so that none is lost.
func addUserLabels(meta *metav1.ObjectMeta, labels map[string]string) {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		if _, taken := meta.Labels[k]; taken {
			continue
		}
		if validLabelKey(k) && validLabelValue(v) {
			meta.Labels[k] = v
			continue
		}
		if meta.Annotations == nil {
			meta.Annotations = map[string]string{}
		}
		meta.Annotations[k] = v
	}
}

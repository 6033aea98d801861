// Package kube carries a compose project onto Kubernetes: Convert turns a
// compose.Project into the objects that run it on a cluster, keeping its
// meaning (names resolve, ordering and health hold, data persists), and
// Manifests writes them as stable YAML with a kustomization. Client (Dial)
// runs berth's project commands on a cluster through client-go: it applies
// the objects (server-side apply, field manager berth), waits for them to be
// ready, lists and follows the project's pods and deletes what up made,
// finding all of it by ProjectSelector. It is the only package that imports
// k8s.io/*.
//
// How compose's meaning is carried over:
//
//   - Names. On berth's bridge a service's name, its network aliases and its
//     container_name resolve to its containers' addresses, whatever ports
//     they listen on. Each of these names becomes a headless Service
//     (clusterIP: None) selecting the service's pods, with
//     publishNotReadyAddresses so that, as on the bridge, a name resolves as
//     soon as a container runs, healthy or not, and every port is reachable.
//     A headless Service needs no ports, so a service that publishes and
//     exposes nothing (a database) still resolves.
//   - Health. A healthcheck becomes exec readiness and liveness probes with
//     interval, timeout and retries mapped (periodSeconds, timeoutSeconds,
//     failureThreshold); a start_period becomes a startup probe, which runs
//     every start_interval and tolerates failures for start_period, as
//     Docker does, without delaying readiness once the service is up. The
//     liveness probe makes the kubelet restart a container that turns
//     unhealthy, which berth does not do on one machine: on a cluster a
//     stuck service is restarted rather than left running unhealthy.
//   - depends_on: service_healthy. Each service that others wait for gets a
//     second headless Service, "<service>-ready", without
//     publishNotReadyAddresses: its DNS name answers only while a pod is
//     ready (healthy). The dependent's init container polls that name
//     (<service>-ready.<namespace>.svc.<cluster domain>, the domain read from
//     the pod's DNS search list) with nslookup every second. Its image is
//     ConvertOptions.WaitImage, by default busybox:latest: busybox has sh,
//     nslookup and grep in a few megabytes, and that name is what
//     scripts/busybox-image.sh gives the image it makes offline from
//     Debian's busybox-static (the one berth's own tests run), so a cluster
//     without a registry can be given it like the project's images.
//   - depends_on: service_completed_successfully. The dependency runs as a
//     Job (its restart policy mapped to the Job's), and the dependent's init
//     container waits for the Job's Complete condition. A finished Job leaves
//     no signal a pod can see without the API (its pod leaves DNS and the
//     endpoints when it exits), so the waiting asks the API: `kubectl wait
//     --for=condition=complete job/<name>` in ConvertOptions.JobWaitImage
//     (default registry.k8s.io/kubectl at the cluster's release; offline, an
//     image with kubectl on PATH imported under that name). It runs as a
//     ServiceAccount allowed only to get, list and watch the namespace's
//     Jobs, whose token is mounted into the waiters alone
//     (automountServiceAccountToken is off for the pod). Busybox's wget was
//     tried instead and cannot talk to the API server: its TLS 1.2 lacks the
//     signature_algorithms extension Go's TLS servers require. A Job that
//     does not exist yet fails the waiter, which the kubelet retries; a Job
//     that fails keeps its dependents in Init, as a failed dependency stops
//     them in compose. The Job has no ttlSecondsAfterFinished: dependents
//     made later (a rescheduled pod) must still find it complete.
//   - Data. A service with a named volume is a StatefulSet whose
//     volumeClaimTemplates claim the volume (1Gi, ReadWriteOnce, the
//     cluster's default StorageClass): each pod keeps its data across
//     restarts and rescheduling. An external volume is an existing claim of
//     that name.
//   - Images. A build: service runs --registry R's R/<image> when a
//     registry is given, else the name berth tags it with; Images overrides
//     both (a digest from a push). Building and pushing are not done here.
//     Every container has imagePullPolicy IfNotPresent (Always or Never when
//     pull_policy says so): a cluster without a registry gets its images
//     imported into its containerd, and IfNotPresent is what makes the
//     kubelet use them, even for :latest tags, where Kubernetes would
//     otherwise default to Always and fail offline.
//
// What cannot be carried over is refused (Convert fails naming the service
// and the compose key, and what to do) or, where the service still runs
// with a difference, listed in Manifests.Warnings; nothing is dropped
// silently.
package kube

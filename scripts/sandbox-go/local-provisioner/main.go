// local-provisioner gives each pending claim of one storage class a `local`
// PersistentVolume on the sandbox's real node, in a directory of its own, and
// removes the directory and the volume once the claim is gone.
//
// Why not hostPath: the kubelet applies a pod's fsGroup to `local` volumes
// but not to hostPath ones, and the store charts run as non-root users that
// must own their volume roots. Why its own program: kwok's volume stages only
// pretend (no directory exists), and local-path-provisioner needs a helper
// image and makes hostPath volumes by default.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
)

const selectedNode = "volume.kubernetes.io/selected-node"
const provisionedBy = "pv.kubernetes.io/provisioned-by"

type provisioner struct {
	client kubernetes.Interface
	class  string
	name   string
	node   string
	base   string
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	class := flag.String("class", "sandbox-local", "storage class whose claims this provisions")
	name := flag.String("provisioner", "sandbox.store-weaver.dev/local", "provisioner name the class names")
	node := flag.String("node", "", "the node whose claims this serves (the scheduler's pick)")
	base := flag.String("dir", "", "directory under which each volume gets a directory")
	flag.Parse()
	if *kubeconfig == "" || *node == "" || *base == "" {
		log.Fatal("usage: local-provisioner -kubeconfig FILE -node NAME -dir DIR [-class NAME] [-provisioner NAME]")
	}
	if err := os.MkdirAll(*base, 0o755); err != nil {
		log.Fatalf("cannot create %s: %v", *base, err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Fatalf("kubeconfig %s: %v", *kubeconfig, err)
	}
	p := &provisioner{client: kubernetes.NewForConfigOrDie(cfg), class: *class, name: *name, node: *node, base: *base}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	factory := informers.NewSharedInformerFactory(p.client, 0)
	claims := factory.Core().V1().PersistentVolumeClaims().Informer()
	volumes := factory.Core().V1().PersistentVolumes().Informer()
	onClaim := func(obj interface{}) {
		if c, ok := obj.(*corev1.PersistentVolumeClaim); ok {
			p.provision(ctx, c)
		}
	}
	onVolume := func(obj interface{}) {
		if v, ok := obj.(*corev1.PersistentVolume); ok {
			p.reclaim(ctx, v)
		}
	}
	if _, err := claims.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    onClaim,
		UpdateFunc: func(_, obj interface{}) { onClaim(obj) },
	}); err != nil {
		log.Fatal(err)
	}
	if _, err := volumes.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    onVolume,
		UpdateFunc: func(_, obj interface{}) { onVolume(obj) },
	}); err != nil {
		log.Fatal(err)
	}
	factory.Start(ctx.Done())
	log.Printf("provisioning class %s on node %s under %s", p.class, p.node, p.base)
	<-ctx.Done()
}

func (p *provisioner) provision(ctx context.Context, c *corev1.PersistentVolumeClaim) {
	if c.Spec.StorageClassName == nil || *c.Spec.StorageClassName != p.class ||
		c.Spec.VolumeName != "" || c.DeletionTimestamp != nil ||
		c.Annotations[selectedNode] != p.node {
		return
	}
	name := "pvc-" + string(c.UID)
	dir := filepath.Join(p.base, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		log.Printf("claim %s/%s: cannot create %s: %v", c.Namespace, c.Name, dir, err)
		return
	}
	mode := corev1.PersistentVolumeFilesystem
	pv := &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{provisionedBy: p.name}},
		Spec: corev1.PersistentVolumeSpec{
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: c.Spec.Resources.Requests[corev1.ResourceStorage]},
			AccessModes:                   c.Spec.AccessModes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
			StorageClassName:              p.class,
			VolumeMode:                    &mode,
			PersistentVolumeSource:        corev1.PersistentVolumeSource{Local: &corev1.LocalVolumeSource{Path: dir}},
			ClaimRef: &corev1.ObjectReference{
				Kind: "PersistentVolumeClaim", APIVersion: "v1",
				Namespace: c.Namespace, Name: c.Name, UID: c.UID,
			},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{
					Key: "kubernetes.io/hostname", Operator: corev1.NodeSelectorOpIn, Values: []string{p.node},
				}}}},
			}},
		},
	}
	_, err := p.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{})
	switch {
	case err == nil:
		log.Printf("claim %s/%s: volume %s at %s", c.Namespace, c.Name, name, dir)
	case apierrors.IsAlreadyExists(err):
	default:
		log.Printf("claim %s/%s: cannot create volume %s: %v", c.Namespace, c.Name, name, err)
	}
}

func (p *provisioner) reclaim(ctx context.Context, v *corev1.PersistentVolume) {
	if v.Annotations[provisionedBy] != p.name || v.DeletionTimestamp != nil ||
		v.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete ||
		(v.Status.Phase != corev1.VolumeReleased && v.Status.Phase != corev1.VolumeFailed) ||
		v.Spec.Local == nil {
		return
	}
	dir := filepath.Clean(v.Spec.Local.Path)
	// Only ever a directory this program made: base/pvc-<uid>.
	if filepath.Dir(dir) != filepath.Clean(p.base) || !strings.HasPrefix(filepath.Base(dir), "pvc-") {
		log.Printf("volume %s: path %s is not one of ours; left alone", v.Name, dir)
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		log.Printf("volume %s: cannot remove %s: %v", v.Name, dir, err)
		return
	}
	err := p.client.CoreV1().PersistentVolumes().Delete(ctx, v.Name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		log.Printf("volume %s: cannot delete: %v", v.Name, err)
		return
	}
	fmt.Printf("volume %s released: removed %s\n", v.Name, dir)
}

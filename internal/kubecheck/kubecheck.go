// Package kubecheck decodes Kubernetes manifests for the tests, as the
// API server does with fieldValidation=Strict, with Kubernetes' own types
// (k8s.io/api): an unknown field, a field in the wrong case, a key given
// twice or a value of the wrong type is an error. That is what kubectl
// --dry-run=client checks, with no cluster to ask for the schema; the
// rules only an API server applies (defaults, a Job's restart policy)
// are the tests' to assert on the objects.
package kubecheck

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// decoder knows the kinds clusterbench writes and documents: the core
// API (ConfigMap, PersistentVolumeClaim, Pod) and batch/v1 (Job).
var decoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	if err := batchv1.AddToScheme(scheme); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(scheme, serializer.EnableStrict).UniversalDeserializer()
}()

// Decode decodes every document of a manifest strictly.
func Decode(manifest []byte) ([]runtime.Object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	var objs []runtime.Object
	for i := 1; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("kubecheck: document %d: %w", i, err)
		}
		obj, _, err := decoder.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("kubecheck: document %d: %w", i, err)
		}
		objs = append(objs, obj)
	}
}

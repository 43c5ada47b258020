package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is coffer.dev/v1alpha1.
	GroupVersion = schema.GroupVersion{Group: Group, Version: Version}

	// SchemeBuilder registers the kinds of this package.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func init() {
	// Registration of API types into a scheme is the one conventional use of
	// init in Kubernetes API packages; it keeps no state of its own.
	SchemeBuilder.Register(&BackupStorage{}, &BackupStorageList{}, &BackupDefinition{}, &BackupDefinitionList{},
		&Backup{}, &BackupList{}, &Restore{}, &RestoreList{})
}

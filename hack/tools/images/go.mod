// Module images builds container images without Docker or a registry
// (hack/images.sh, hack/cluster.sh): coffer-image writes image tarballs with
// go-containerregistry; pause is the local cluster's sandbox image.
module github.com/coffer-dev/coffer/hack/tools/images

go 1.26.8

require (
	github.com/coffer-dev/coffer v0.0.0
	github.com/google/go-containerregistry v0.22.1
)

require (
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
)

replace github.com/coffer-dev/coffer => ../../..

// Package deploy has tests only. They check the deployment files at the root
// of the repository (docker-compose.yml, Dockerfile) without Docker. They load
// docker-compose.yml with the Compose Specification loader
// (github.com/compose-spec/compose-go/v2) and compare the resolved services
// with the expected images, dependencies, environment, ports and volumes.
package deploy

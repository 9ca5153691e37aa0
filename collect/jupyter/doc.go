// Package jupyter holds the jupyter collector: one document per JupyterHub,
// whose users are the label values of the hub's Pending and Running pods,
// listed through internal/kube (the API with the pod's service account,
// or the host's kubectl). Its settings are in sample.yaml.
package jupyter

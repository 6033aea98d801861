// Package watch follows the host files named by the services' develop.watch
// rules and applies each rule's action (sync, sync+restart, sync+exec,
// restart, rebuild) to the running project: what berth watch and
// up --watch do. The actions themselves are behind the narrow Actions
// interface; cmd wires them to the runtime and the scheduler.
package watch

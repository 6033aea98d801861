// Package imageview shows local images as the docker CLI does: the rows of
// `image ls` (table and JSON, with docker's keys), the JSON of `image
// inspect` and the rows of `image history`. It decides nothing about
// images and talks to no daemon: containerd fills in an Image, this
// package renders it.
package imageview

package target

import "errors"

// readModuleObject reads the symbols, ftrace records and identity of one
// target module file.
func readModuleObject(path string) (*Object, error) {
	// TODO: implemented with the loaders.
	return nil, errors.New("not implemented")
}

package document

// The parts of a document that name people or hosts have types of their
// own: the users step (package users) filters and hashes them by type,
// wherever they are and whatever their fields are called, so a collector
// that names users in a field of a new name cannot send real names by
// mistake. They encode as the plain values they hold.

// UserList is a field value naming users (ssh's and jupyter's users):
// the users step keeps those in --group and hashes them, each once,
// sorted.
type UserList []string

// User is a field value naming one user (a job's owner): the users step
// hashes it, and drops the document when the user is not in --group.
type User string

// UserCount is a field value counting the users of the document's
// UserList: the users step sets it to the list's length once filtered.
type UserCount int

// LoginNode is the login_node field's value: --obfuscate-hosts replaces
// it.
type LoginNode string

// NamesUsers tells whether d has a UserList or a User.
func (d Document) NamesUsers() bool {
	for _, f := range d.Fields {
		switch f.Value.(type) {
		case UserList, User:
			return true
		}
	}
	return false
}

// Plain is v with the types of this file turned into the plain values
// they hold, for code that reads documents (a table, a metric).
func Plain(v any) any {
	switch x := v.(type) {
	case UserList:
		return []string(x)
	case User:
		return string(x)
	case UserCount:
		return int(x)
	case LoginNode:
		return string(x)
	}
	return v
}

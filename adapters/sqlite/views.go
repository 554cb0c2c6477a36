package sqlite

var viewSchema = []string{}

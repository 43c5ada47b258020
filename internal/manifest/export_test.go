package manifest

import "encoding/json"

var jsonMarshal = json.Marshal

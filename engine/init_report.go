package engine

import "github.com/densepred/dp/models"

// logInitLoads says, for each init checkpoint the model's modules loaded
// when built (a backbone's init.checkpoint), which keys it set, which it
// left as initialised and which of its keys went unused, as mmengine logs
// the missing and unexpected keys of a Pretrained init.
func logInitLoads(log *Logger, m models.Model) {
	for _, l := range models.InitLoads(m) {
		log.Printf("%s\n", l)
	}
}

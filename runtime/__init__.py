"""What a run is: network spec, state allocation, the session loop, metrics,
checkpoints."""

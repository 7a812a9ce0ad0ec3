package quirks

// Scenario is the name quirk records carry in results.
const Scenario = "quirks"

// Unit is the unit of a quirk record: a behaviour, not a quantity (see
// Result.Measurement).
const Unit = "behaviour"

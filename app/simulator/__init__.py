"""A stand-in for Twilio: signs requests as Twilio does and interprets the TwiML it gets
back. Used by the tests now; the simulator issue turns it into a command for people."""

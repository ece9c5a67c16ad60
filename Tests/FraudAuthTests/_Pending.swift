// placeholder until the FraudAuth tests land

# NIST StRD Misra1b (lower difficulty): y = b1 * (1-(1+b2*x/2)**(-2)) + e
# certified values, data and both starts: Misra1b.json / Misra1b.csv
param b1 = 500, b2 = 0.0001    # NIST start 1
# NIST start 2: b1 = 300, b2 = 0.0002
data x, y
model f = b1*(1 - (1 + b2*x/2)^(-2))
loss sum((f - y)^2)

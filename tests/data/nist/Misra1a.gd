# NIST StRD Misra1a (lower difficulty): y = b1*(1-exp[-b2*x]) + e
# certified values, data and both starts: Misra1a.json / Misra1a.csv
param b1 = 500, b2 = 0.0001    # NIST start 1
# NIST start 2: b1 = 250, b2 = 0.0005
data x, y
model f = b1*(1 - exp(-b2*x))
loss sum((f - y)^2)

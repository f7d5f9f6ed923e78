# NIST StRD Misra1c (average difficulty): y = b1 * (1-(1+2*b2*x)**(-.5)) + e
# certified values, data and both starts: Misra1c.json / Misra1c.csv
param b1 = 500, b2 = 0.0001    # NIST start 1
# NIST start 2: b1 = 600, b2 = 0.0002
data x, y
model f = b1*(1 - (1 + 2*b2*x)^(-0.5))
loss sum((f - y)^2)

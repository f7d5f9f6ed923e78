# NIST StRD Chwirut1 (lower difficulty): y = exp[-b1*x]/(b2+b3*x) + e
# certified values, data and both starts: Chwirut1.json / Chwirut1.csv
param b1 = 0.1, b2 = 0.01, b3 = 0.02    # NIST start 1
# NIST start 2: b1 = 0.15, b2 = 0.008, b3 = 0.010
data x, y
model f = exp(-b1*x)/(b2 + b3*x)
loss sum((f - y)^2)

# NIST StRD Kirby2 (average difficulty): y = (b1 + b2*x + b3*x**2) / (1 + b4*x + b5*x**2) + e
# certified values, data and both starts: Kirby2.json / Kirby2.csv
param b1 = 2, b2 = -0.1, b3 = 0.003, b4 = -0.001, b5 = 0.00001    # NIST start 1
# NIST start 2: b1 = 1.5, b2 = -0.15, b3 = 0.0025, b4 = -0.0015, b5 = 0.00002
data x, y
model f = (b1 + b2*x + b3*x^2)/(1 + b4*x + b5*x^2)
loss sum((f - y)^2)

# NIST StRD Hahn1 (average difficulty): y = (b1+b2*x+b3*x**2+b4*x**3) / (1+b5*x+b6*x**2+b7*x**3) + e
# certified values, data and both starts: Hahn1.json / Hahn1.csv
param b1 = 10, b2 = -1, b3 = 0.05, b4 = -0.00001, b5 = -0.05, b6 = 0.001, b7 = -0.000001    # NIST start 1
# NIST start 2: b1 = 1, b2 = -0.1, b3 = 0.005, b4 = -0.000001, b5 = -0.005, b6 = 0.0001, b7 = -0.0000001
data x, y
model f = (b1 + b2*x + b3*x^2 + b4*x^3)/(1 + b5*x + b6*x^2 + b7*x^3)
loss sum((f - y)^2)
